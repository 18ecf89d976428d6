// The post step. docker-reclaim has nothing to undo after the job; the dispatch is here so that a
// post phase can be added to action.yml without a second bundle.
export async function post(): Promise<void> {}

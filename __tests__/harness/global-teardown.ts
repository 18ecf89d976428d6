// Each e2e file stops its own engine in afterAll; engine.mjs also cleans up any left at exit.
export default async function teardown(): Promise<void> {}

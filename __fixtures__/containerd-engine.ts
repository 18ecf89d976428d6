// An in-memory engine that answers DELETE /images/{name} and DELETE /containers/{id} the way
// Docker 29's containerd image store does, so planner + executor can be checked against it without
// a daemon (the classic store's twin is fake-engine.ts).
//
// Modelled from moby's source (moby/moby, the v2 module that Docker 29 is built from), read, not
// copied:
// - daemon/containerd/image_delete.go: ImageService.ImageDelete, getSameReferences, deleteAll,
//   imageDeleteHelper, untagReferences, checkImageDeleteConflict, imageDeleteConflict.Error.
// - daemon/containerd/image.go: resolveAllReferences (a name, a digest reference or an ID → the
//   matching record and every record with the same target).
// - daemon/containerd/image_list.go: Images / singlePlatformImage (ID = target digest; RepoTags are
//   the familiar form of every record name, digest-named ones included; RepoDigests are derived).
// - daemon/containerd/image_inspect.go: ImageInspect (Metadata.LastTagTime = the latest UpdatedAt
//   of the records that point at the image).
// - daemon/images/image.go: ErrImageDoesNotExist ("No such image: …", a 404).
// - daemon/delete.go: ContainerRm / cleanupContainer, and daemon/delete_test.go's messages.
//
// The model: the store holds *records*, one per name (`docker.io/library/app:1`,
// `docker.io/library/app@sha256:…` when pulled by digest, or `moby-dangling@sha256:…` for an image
// with no name). Each record points at a target: the manifest or index digest, which is the image
// ID. An image exists as long as a record points at it. Digest references that `docker images`
// shows for a tag-pulled image (`app@<image id>`) are derived from the records, not stored.
// There are no parent chains: the containerd store has no `Parent` except a label that only the
// legacy builder and `docker commit` set, which this fake does not model (it refuses inventories
// with a parent).
import type { ContainerNow, ImageNow, Remover, RemoveResult } from '../src/engine/remove.js';
import { EngineError } from '../src/engine/remove.js';
import { FakeVolumesAndCache } from './fake-volumes.js';
import type {
  ImageId,
  Inventory,
  InventoryContainer,
  InventoryImage,
  Reference
} from '../src/plan/types.js';

/** image_delete.go: isDanglingImage checks this name prefix. */
const DANGLING_PREFIX = 'moby-dangling@';

/**
 * container.State.IsRunning() is true for running, paused and restarting containers (a paused or
 * restarting container keeps Running set); `removing` and the stopped states are not running.
 */
const IS_RUNNING = new Set(['running', 'paused', 'restarting']);

interface ImageRecord {
  /** Normalized name, as containerd stores it: `docker.io/library/app:1`. */
  name: string;
  target: ImageId;
  /** containerd's UpdatedAt for the record, ms since epoch. */
  updatedAt: number;
}

/** What the store keeps about an image apart from its names. */
interface Content {
  id: ImageId;
  created: number;
  size: number;
}

interface ParsedName {
  /** Normalized repository: `docker.io/library/app`. */
  repo: string;
  tag?: string;
  digest?: string;
}

/** reference.ParseNormalizedNamed, for the reference forms the planner sends. */
export function normalizeName(ref: string): ParsedName {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  let repo: string;
  if (slash < 0) repo = `docker.io/library/${rest}`;
  else if (/[.:]/.test(first) || first === 'localhost') {
    repo = first === 'index.docker.io' ? `docker.io${rest.slice(slash)}` : rest;
    if (repo.startsWith('docker.io/') && !repo.slice('docker.io/'.length).includes('/')) {
      repo = `docker.io/library/${repo.slice('docker.io/'.length)}`;
    }
  } else repo = `docker.io/${rest}`;
  return { repo, tag, digest };
}

function nameOf(p: ParsedName): string {
  return p.repo + (p.tag !== undefined ? `:${p.tag}` : '') + (p.digest ? `@${p.digest}` : '');
}

/** reference.FamiliarString: drops `docker.io/library/` and `docker.io/`. */
export function familiar(name: string): string {
  if (name.startsWith('docker.io/library/')) return name.slice('docker.io/library/'.length);
  if (name.startsWith('docker.io/')) return name.slice('docker.io/'.length);
  return name;
}

/** stringid.TruncateID: drops the algorithm, keeps 12 characters. */
function truncateId(id: string): string {
  const colon = id.indexOf(':');
  return (colon >= 0 ? id.slice(colon + 1) : id).slice(0, 12);
}

const isDangling = (r: ImageRecord) => r.name.startsWith(DANGLING_PREFIX);

/** image_delete.go isImageIDPrefix. */
function isIdPrefix(id: string, ref: string): boolean {
  return id.startsWith(ref) || id.slice(id.indexOf(':') + 1).startsWith(ref);
}

/** resolveAllReferences only treats `(sha256:)?[0-9a-f]{4,64}` as an ID (checkTruncatedID). */
function asId(ref: string): string | undefined {
  const hex = ref.replace(/^sha256:/, '');
  return /^[0-9a-f]{4,64}$/.test(hex) ? hex : undefined;
}

export class ContainerdEngine implements Remover {
  /** Records by normalized name. */
  records = new Map<string, ImageRecord>();
  content = new Map<ImageId, Content>();
  containers: Map<string, InventoryContainer>;
  calls: string[] = [];
  /** Volumes and build cache records, and the calls that remove them. */
  store: FakeVolumesAndCache;
  removeVolume: Remover['removeVolume'];
  volumeUsers: Remover['volumeUsers'];
  pruneBuildCache: Remover['pruneBuildCache'];
  /** Test hook: runs before each call, e.g. to inject a race. */
  beforeCall?: (call: string) => void;

  /**
   * Builds the store from an inventory written the way Docker 29 lists it: `tags` are the record
   * names (RepoTags, which on this store include digest-named records), `digests` are derived and
   * create no record. An image with neither gets a dangling record.
   */
  constructor(inventory: Inventory) {
    const copy = structuredClone(inventory);
    for (const image of copy.images) {
      if (image.parent) {
        throw new Error(
          `ContainerdEngine: ${image.id} has a parent; the containerd store keeps no parent chains`
        );
      }
      if (!/^sha256:[0-9a-f]{64}$/.test(image.id)) {
        throw new Error(`ContainerdEngine: ${image.id} is not a manifest digest (sha256:<64 hex>)`);
      }
      this.content.set(image.id, { id: image.id, created: image.created, size: image.size });
      // image_inspect.go: LastTagTime is the records' UpdatedAt, set by pull and load as well.
      const updatedAt = image.lastTagTime ?? image.created;
      const names = image.tags.map((t) => nameOf(normalizeName(t)));
      if (names.length === 0) names.push(DANGLING_PREFIX + image.id);
      for (const name of names) {
        if (this.records.has(name)) throw new Error(`ContainerdEngine: two records named ${name}`);
        this.records.set(name, { name, target: image.id, updatedAt });
      }
    }
    this.containers = new Map(copy.containers.map((c) => [c.id, c]));
    this.store = new FakeVolumesAndCache(
      inventory,
      () => this.containers,
      (c) => this.calls.push(c)
    );
    this.removeVolume = (name) => this.store.removeVolume(name);
    this.volumeUsers = (name) => this.store.volumeUsers(name);
    this.pruneBuildCache = (ids) => this.store.pruneBuildCache(ids);
  }

  /** What `docker images` + inspect would show now, in the Inventory's shape. */
  snapshot(): Inventory {
    const images: InventoryImage[] = [...this.content.values()].map((c) => {
      const recs = this.recordsOf(c.id);
      const named = recs.filter((r) => !isDangling(r));
      const repos = [...new Set(named.map((r) => normalizeName(r.name).repo))];
      return {
        id: c.id,
        tags: named.map((r) => familiar(r.name)) as Reference[],
        // image_inspect.go collectRepoTagsAndDigests: one `repo@<target>` per named repository.
        // (`docker images`, image_list.go singlePlatformImage, shows only the one of the record
        // it happened to keep; the planner never removes these separately from their tags.)
        digests: repos.map((repo) => `${familiar(repo)}@${c.id}`) as Reference[],
        created: c.created,
        lastTagTime: Math.max(...recs.map((r) => r.updatedAt)),
        size: c.size
      };
    });
    return structuredClone({ images, containers: [...this.containers.values()] });
  }

  /** containerd lists records in name order (its metadata store iterates bolt keys). */
  private recordsOf(target: ImageId): ImageRecord[] {
    return [...this.records.values()]
      .filter((r) => r.target === target)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** daemon/delete.go ContainerRm and cleanupContainer, without force. The same on both stores. */
  async removeContainer(id: string): Promise<void> {
    this.calls.push(`rm ${id}`);
    this.beforeCall?.(`rm ${id}`);
    const c = this.containers.get(id);
    if (!c) throw new EngineError(`No such container: ${id}`, 404);
    const name = `"/${c.names[0] ?? id}"`;
    if (c.state === 'removing') {
      throw new EngineError(`removal of container ${id} is already in progress`, 409);
    }
    if (c.state === 'paused') {
      throw new EngineError(
        `cannot remove container ${name}: container is paused and must be unpaused first`,
        409
      );
    }
    if (c.state === 'running' || c.state === 'restarting') {
      throw new EngineError(
        `cannot remove container ${name}: container is ${c.state}: stop the container before removing or force remove`,
        409
      );
    }
    this.containers.delete(id);
  }

  /** image_inspect.go: the image a name or ID resolves to, with the names (RepoTags) of its records. */
  async inspectImage(nameOrId: string): Promise<ImageNow | undefined> {
    this.calls.push(`inspect ${nameOrId}`);
    this.beforeCall?.(`inspect ${nameOrId}`);
    const target = this.content.has(nameOrId as ImageId)
      ? (nameOrId as ImageId)
      : this.records.get(nameOf(normalizeName(nameOrId)))?.target;
    if (target === undefined) return undefined;
    const references = this.recordsOf(target)
      .filter((r) => !isDangling(r))
      .map((r) => familiar(r.name));
    return { id: target, references };
  }

  async inspectContainer(id: string): Promise<ContainerNow | undefined> {
    this.calls.push(`inspect ${id}`);
    this.beforeCall?.(`inspect ${id}`);
    const c = this.containers.get(id);
    return c ? { state: c.state, image: c.image } : undefined;
  }

  /** image_delete.go ImageService.ImageDelete with force=false, prune=true, no platforms. */
  async removeImage(ref: string): Promise<RemoveResult> {
    this.calls.push(`rmi ${ref}`);
    this.beforeCall?.(`rmi ${ref}`);
    const { img, all } = this.resolveAllReferences(ref);
    const notFound = () =>
      new EngineError(`No such image: ${familiar(nameOf(normalizeName(ref)))}`, 404);

    if (img === undefined) {
      // A digest reference without a record of its own (or an ID): every record with that target.
      const target = all[0]!.target;
      const named = isIdPrefix(target, ref) ? undefined : normalizeName(ref);
      const same = this.getSameReferences(named, all);
      if (same.length === 0 && named) throw notFound();
      const activeReference = same.length !== all.length;
      if (named && same.length > 0 && activeReference) return this.untagReferences(same);
      return this.deleteAll(target, all, activeReference);
    }

    const target = img.target;
    if (isIdPrefix(target, ref) || (ref.startsWith(DANGLING_PREFIX) && isDangling(img))) {
      // A record whose name looks like the ID, or an explicit dangling name: every record must
      // go, and several records are an active reference.
      return this.deleteAll(target, all, true);
    }
    const same = this.getSameReferences(normalizeName(img.name), all);
    if (same.length !== all.length) {
      // Other names stay: only these go, and no container is checked (a running one included).
      return this.untagReferences(same);
    }
    // The last name (with the same repository's digest records): any container that uses the
    // image, running or stopped, refuses it. The message names the reference, not the ID.
    const user = [...this.containers.values()].find((c) => c.image === target);
    if (user) {
      throw new EngineError(
        `conflict: unable to delete ${familiar(img.name)} (must be forced) - container ${truncateId(user.id)} is using its referenced image ${truncateId(target)}`,
        409
      );
    }
    return this.deleteAll(target, all, false);
  }

  /** image.go resolveAllReferences: the record that `ref` names, if any, and all records of its target. */
  private resolveAllReferences(ref: string): { img?: ImageRecord; all: ImageRecord[] } {
    const hex = asId(ref);
    if (hex !== undefined) {
      // A full or short ID, or a name that merely looks like one.
      const byName = this.records.get(nameOf(normalizeName(ref)));
      const matching = [...this.records.values()].filter((r) =>
        r.target.replace(/^sha256:/, '').startsWith(hex)
      );
      const targets = new Set(matching.map((r) => r.target));
      if (byName) return { img: byName, all: this.recordsOf(byName.target) };
      if (targets.size > 1) throw new EngineError('ambiguous reference', 404);
      if (targets.size === 0) throw new EngineError(`No such image: ${ref}`, 404);
      return { all: this.recordsOf([...targets][0]!) };
    }
    const parsed = normalizeName(ref);
    const named = nameOf(
      parsed.tag === undefined && !parsed.digest ? { ...parsed, tag: 'latest' } : parsed
    );
    const record = this.records.get(named);
    if (record) return { img: record, all: this.recordsOf(record.target) };
    if (parsed.digest) {
      const all = this.recordsOf(parsed.digest as ImageId);
      if (all.length > 0) return { all };
    }
    throw new EngineError(`No such image: ${familiar(named)}`, 404);
  }

  /**
   * image_delete.go getSameReferences: the records that go together with `named`: the same
   * repository and tag, plus that repository's digest records when no other tag of it remains
   * (every record of the repository for a digest reference), plus dangling records.
   */
  private getSameReferences(named: ParsedName | undefined, recs: ImageRecord[]): ImageRecord[] {
    let repo = named?.repo;
    let tag = named?.tag ?? '';
    const allTags = named !== undefined && named.tag === undefined && named.digest !== undefined;
    const same: ImageRecord[] = [];
    let digestRecs: ImageRecord[] | undefined = [];
    for (const r of recs) {
      if (!isDangling(r)) {
        const p = normalizeName(r.name);
        if (repo === undefined) {
          repo = p.repo;
          tag = p.tag ?? '';
        } else if (repo !== p.repo) {
          continue;
        } else if (!allTags) {
          if (p.tag !== undefined) {
            if (tag === '') tag = p.tag;
            else if (tag !== p.tag) {
              digestRecs = undefined;
              continue;
            }
          } else {
            digestRecs?.push(r);
            continue;
          }
        }
      }
      same.push(r);
    }
    return digestRecs ? [...same, ...digestRecs] : same;
  }

  /** image_delete.go untagReferences: delete these records only; one Untagged each. */
  private untagReferences(recs: ImageRecord[]): RemoveResult {
    for (const r of recs) this.records.delete(r.name);
    return { untagged: recs.map((r) => familiar(r.name)), deleted: [] };
  }

  /**
   * image_delete.go deleteAll + imageDeleteHelper + checkImageDeleteConflict: every record goes,
   * then one `Deleted: <id>`; no layer entries, whatever the layers.
   */
  private deleteAll(target: ImageId, all: ImageRecord[], activeReference: boolean): RemoveResult {
    const running = [...this.containers.values()].find(
      (c) => c.image === target && IS_RUNNING.has(c.state)
    );
    if (running) {
      throw new EngineError(
        `conflict: unable to delete ${truncateId(target)} (cannot be forced) - image is being used by running container ${truncateId(running.id)}`,
        409
      );
    }
    const stopped = [...this.containers.values()].find(
      (c) => c.image === target && !IS_RUNNING.has(c.state)
    );
    if (stopped) {
      throw new EngineError(
        `conflict: unable to delete ${truncateId(target)} (must be forced) - image is being used by stopped container ${truncateId(stopped.id)}`,
        409
      );
    }
    if (activeReference && all.length > 1) {
      throw new EngineError(
        `conflict: unable to delete ${truncateId(target)} (must be forced) - image is referenced in multiple repositories`,
        409
      );
    }
    for (const r of all) this.records.delete(r.name);
    this.content.delete(target);
    return {
      untagged: all.filter((r) => !isDangling(r)).map((r) => familiar(r.name)),
      deleted: [target]
    };
  }
}

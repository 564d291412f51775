import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KEYRING_FILE } from '../keys/keyring.ts'

/**
 * The only folder the worker may read (its `--allow-fs-read`): a fresh directory under the
 * system temp folder (so the worker's user can reach it whatever the state folder's parents
 * allow) holding the measured bundle and a mirror of the wrapped keyring. Owned by the
 * launcher; the keys are readable by the worker's group only (0640 / 0750). The launcher
 * re-mirrors the keyring before each dispatch when the state copy changed (CLI rotation).
 */
export class WorkerRuntimeDir {
  readonly root: string
  readonly bundleFile: string
  readonly keyDir: string
  readonly #gid: number | undefined
  #stamp = ''

  constructor(gid: number | undefined) {
    this.#gid = gid
    this.root = mkdtempSync(join(tmpdir(), 'dauth-enclave-'))
    chmodSync(this.root, 0o711)
    this.bundleFile = join(this.root, 'worker.cjs')
    this.keyDir = join(this.root, 'keys')
    mkdirSync(this.keyDir, { mode: 0o700 })
    if (gid !== undefined) {
      chownSync(this.keyDir, process.getuid?.() ?? 0, gid)
      chmodSync(this.keyDir, 0o750)
    }
  }

  /** Copies `<state>/enclave/keys/keyring.json` here when it changed; true when copied. */
  syncKeyring(sourceKeyDir: string): boolean {
    const source = join(sourceKeyDir, KEYRING_FILE)
    const st = statSync(source, { bigint: true })
    const stamp = `${st.ino}:${st.mtimeNs}:${st.size}`
    if (stamp === this.#stamp) return false
    const target = join(this.keyDir, KEYRING_FILE)
    const tmp = `${target}.tmp`
    copyFileSync(source, tmp)
    if (this.#gid !== undefined) {
      chownSync(tmp, process.getuid?.() ?? 0, this.#gid)
      chmodSync(tmp, 0o640)
    } else {
      chmodSync(tmp, 0o600)
    }
    renameSync(tmp, target)
    this.#stamp = stamp
    return true
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true })
  }
}

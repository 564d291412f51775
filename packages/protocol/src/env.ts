/**
 * Start-up configuration from environment variables (`@dauth/protocol/env`): the zod building
 * blocks every DAuth service uses for its schema, the one error they throw ({@link ConfigError})
 * and the metadata `docs/reference/config.md` is generated from.
 *
 * A variable that is unset or empty takes its default. A bad value gives one line
 * `NAME: must be …, got "…"`; a secret is never echoed (URLs are shown with their userinfo and
 * query masked, tokens not at all).
 *
 * @module
 */
import { existsSync, statSync } from 'node:fs'
import { z } from 'zod'

/** How a variable's value may be shown in an error message. */
export type EnvSecrecy = 'public' | 'url-userinfo' | 'secret'

/** What the reference table says about one variable. */
export interface EnvVarMeta {
  /** allowed values in words, also the `must be …` of the error message */
  type: string
  /** default in words (`unset` when there is none) */
  default: string
  description: string
  secrecy: EnvSecrecy
}

/** Metadata of every variable schema built here; read by {@link describeEnv}. */
const envRegistry = z.registry<EnvVarMeta>()

/** The exit status of a process that stops on bad configuration (sysexits.h `EX_CONFIG`). */
export const EX_CONFIG = 78

/** Every problem of one environment, one `NAME: what is wrong` line each. */
export class ConfigError extends Error {
  readonly problems: readonly string[]
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/** A variable that has a default: never `undefined` after parsing. */
type Required<T> = z.ZodType<T, string | undefined>
/** A variable without a default: `undefined` when unset. */
type Optional<T> = z.ZodType<T | undefined, string | undefined>

interface VarOptions {
  description: string
  /** omitted → the variable is optional and the output `undefined` when unset */
  default?: string
  /** words for the reference table when the default is computed, e.g. `<state>/as.sqlite` */
  defaultText?: string
  secrecy?: EnvSecrecy
}

// Only the `must be …` part: parseEnv adds the variable name and the value (when showable).
function variable<T>(
  schema: z.ZodType<T, string>,
  type: string,
  options: VarOptions & { default: string },
): Required<T>
function variable<T>(schema: z.ZodType<T, string>, type: string, options: VarOptions): Optional<T>
function variable<T>(schema: z.ZodType<T, string>, type: string, options: VarOptions): Optional<T> {
  const meta: EnvVarMeta = {
    type,
    default:
      options.defaultText ?? (options.default !== undefined ? `\`${options.default}\`` : 'unset'),
    description: options.description,
    secrecy: options.secrecy ?? 'public',
  }
  const wrapped =
    options.default !== undefined
      ? z
          .string()
          .optional()
          .transform((value, ctx): T => {
            const result = schema.safeParse(value ?? options.default)
            if (result.success) return result.data
            for (const issue of result.error.issues)
              ctx.addIssue({ code: 'custom', message: issue.message })
            return z.NEVER
          })
      : z
          .string()
          .optional()
          .transform((value, ctx): T | undefined => {
            if (value === undefined) return undefined
            const result = schema.safeParse(value)
            if (result.success) return result.data
            for (const issue of result.error.issues)
              ctx.addIssue({ code: 'custom', message: issue.message })
            return z.NEVER
          })
  wrapped.register(envRegistry, meta)
  return wrapped
}

/** A TCP port; `allowZero` when 0 (= a free port) is meaningful. */
export function port(
  options: VarOptions & { default: string; allowZero?: boolean },
): Required<number>
export function port(options: VarOptions & { allowZero?: boolean }): Optional<number>
export function port(
  options: VarOptions & { allowZero?: boolean },
): Optional<number> | Required<number> {
  const low = options.allowZero ? 0 : 1
  const must = `must be a port number (${low}-65535${low === 0 ? ', 0 = a free port' : ''})`
  const schema = z
    .string()
    .regex(/^\d{1,5}$/, must)
    .transform(Number)
    .pipe(z.int().min(low, must).max(65535, must))
  return variable(schema, `port ${low}-65535`, options)
}

/** A positive integer (durations in ms, sizes in bytes). */
export function positiveInt(
  options: VarOptions & { default: string; unit: string },
): Required<number> {
  const must = `must be a positive whole number of ${options.unit}`
  const schema = z
    .string()
    .regex(/^[1-9]\d*$/, must)
    .transform(Number)
    .pipe(z.int(must).max(Number.MAX_SAFE_INTEGER, must))
  return variable(schema, `integer ≥ 1 (${options.unit})`, options)
}

/** `1` on, `0` or unset off: no other spelling, so that `true` or `yes` is not read as off. */
export function flag(options: VarOptions): Required<boolean> {
  const schema = z.enum(['0', '1'], 'must be 1 (on) or 0 (off)').transform((v) => v === '1')
  return variable(schema, '`1` or `0`', { ...options, default: '0', defaultText: '`0` (off)' })
}

/** Free text (a path prefix, a user name, a token). */
export function text(options: VarOptions & { default: string }): Required<string>
export function text(options: VarOptions): Optional<string>
export function text(options: VarOptions): Optional<string> {
  return variable(z.string(), 'string', options)
}

/** A path; with `mustExist`, a file that exists when the service starts. */
export function filePath(options: VarOptions & { mustExist?: boolean }): Optional<string> {
  const schema = options.mustExist
    ? z
        .string()
        .refine((path) => existsSync(path) && statSync(path).isFile(), 'must name an existing file')
    : z.string()
  return variable(schema, options.mustExist ? 'path of an existing file' : 'path', options)
}

/** An absolute URL whose scheme is one of `schemes` (e.g. `['http:', 'https:']`). */
export function url(
  options: VarOptions & { schemes: readonly string[]; default: string },
): Required<string>
export function url(options: VarOptions & { schemes: readonly string[] }): Optional<string>
export function url(options: VarOptions & { schemes: readonly string[] }): Optional<string> {
  const names = options.schemes.map((s) => `${s}//`).join(' or ')
  const must = `must be an absolute ${names} URL`
  const schema = z.string().refine((value) => {
    const parsed = URL.parse(value)
    return parsed !== null && options.schemes.includes(parsed.protocol) && parsed.host !== ''
  }, must)
  return variable(schema, `${names} URL`, options)
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * Why `issuer` is not a valid issuer identifier, or undefined: an origin (no path, query,
 * fragment or trailing slash) over https, or http on a loopback host (dev and tests).
 */
export function issuerProblem(issuer: string): string | undefined {
  const parsed = URL.parse(issuer)
  if (
    !parsed ||
    (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') ||
    parsed.host === ''
  )
    return 'must be an absolute https:// URL'
  if (parsed.search || parsed.hash || (parsed.pathname !== '/' && parsed.pathname !== ''))
    return 'must be an origin URL without path, query or fragment'
  if (issuer.endsWith('/')) return 'must not end with a slash'
  if (parsed.protocol === 'http:' && !LOOPBACK.has(parsed.hostname))
    return 'must use https (http is allowed only for loopback hosts)'
  return undefined
}

/** The AS issuer identifier, validated by {@link issuerProblem}. */
export function issuer(options: VarOptions & { default: string }): Required<string> {
  const schema = z.string().superRefine((value, ctx) => {
    const problem = issuerProblem(value)
    if (problem) ctx.addIssue({ code: 'custom', message: problem })
  })
  return variable(schema, 'https origin (http only on loopback)', options)
}

/** `url` with its userinfo and query masked; nothing when it does not parse as a URL. */
function maskUrl(value: string): string | undefined {
  const parsed = URL.parse(value)
  if (!parsed) return undefined
  const userinfo = parsed.username || parsed.password ? '***@' : ''
  const query = parsed.search ? '?***' : ''
  return `${parsed.protocol}//${userinfo}${parsed.host}${parsed.pathname}${query}`
}

function shown(value: string, secrecy: EnvSecrecy): string {
  const text =
    secrecy === 'public' ? value : secrecy === 'url-userinfo' ? maskUrl(value) : undefined
  return text === undefined ? '' : `, got ${JSON.stringify(text)}`
}

/** The environment variables of one service: a zod object whose keys are variable names. */
export type EnvSchema = z.ZodObject<Record<string, z.ZodType<unknown, string | undefined>>>

/**
 * Parses `env` with `schema`. Empty values count as unset. Throws a {@link ConfigError} with
 * one line per bad variable.
 */
export function parseEnv<S extends EnvSchema>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const input: Record<string, string | undefined> = {}
  for (const name of Object.keys(schema.shape)) {
    const value = env[name]
    input[name] = value === '' ? undefined : value
  }
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const problems: string[] = []
  const seen = new Set<string>()
  for (const issue of result.error.issues) {
    const name = String(issue.path[0])
    if (seen.has(name)) continue
    seen.add(name)
    const field = schema.shape[name]
    const secrecy = field ? (envRegistry.get(field)?.secrecy ?? 'secret') : 'secret'
    const value = input[name]
    problems.push(`${name}: ${issue.message}${value === undefined ? '' : shown(value, secrecy)}`)
  }
  throw new ConfigError(problems)
}

/**
 * For a process entry point: on a {@link ConfigError}, writes its lines to stderr and exits
 * with {@link EX_CONFIG}; any other error is rethrown.
 */
export function exitOnConfigError(error: unknown): never {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`${error.problems.join('\n')}\n`)
  process.exit(EX_CONFIG)
}

/** One row of the reference table. */
export interface EnvVarRow extends EnvVarMeta {
  name: string
}

/** The documented variables of `schema`, in declaration order. */
export function describeEnv(schema: EnvSchema): EnvVarRow[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const meta = envRegistry.get(field)
    if (!meta) throw new TypeError(`${name} was not built by @dauth/protocol/env`)
    return { name, ...meta }
  })
}

export { startDemoUpstream } from './server.ts'
export type { DemoRequestRecord, DemoUpstream, DemoUpstreamOptions } from './server.ts'
export { demoUpstreamConfigFromEnv, demoUpstreamEnvSchema } from './env.ts'
export type { DemoUpstreamEnv } from './env.ts'

export { startDemoUpstream } from './server.ts'
export type { DemoRequestRecord, DemoUpstream, DemoUpstreamOptions } from './server.ts'

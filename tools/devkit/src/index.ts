export { issueDevCertificates } from './devCa.ts'
export type { DevCertificates } from './devCa.ts'
export {
  devStatePaths,
  ENCLAVE_CLIENT_ID,
  EXAMPLE_MCP_CLIENT_ID,
  ensureDevState,
} from './devState.ts'
export type { DevStateOptions, DevStatePaths, RegistryResource } from './devState.ts'
export { runNodeScript, type ScriptRun, stopProcess } from './process.ts'
export { freePort, REPO_ROOT, startStack } from './stack.ts'
export type { ServiceInstance, ServiceName, Stack, StackOptions } from './stack.ts'
export { runDemoFlow } from './demoFlow.ts'
export type { DemoFlowOptions, DemoFlowResult } from './demoFlow.ts'

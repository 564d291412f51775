/**
 * The MCP conformance suite's server fixtures (tools, resources, prompts), built on the
 * public API of `@dauth/mcp-server` only.
 *
 * @module
 */
import {
  acceptedContent,
  type Collectable,
  getContext,
  type InputRequests,
  inputRequired,
  inputResponse,
  type MCPServer,
  ProtocolError,
  ProtocolErrorCode,
  prompt,
  resource,
  resourceTemplate,
  runAsTask,
  tool,
} from '@dauth/mcp-server'
import { z } from 'zod'

/** A 1×1 red PNG. */
export const TEST_IMAGE_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=='
/** A minimal WAV file. */
export const TEST_AUDIO_BASE64 = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA='

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function failureText(prefix: string, error: unknown): string {
  return `${prefix}: ${error instanceof Error ? error.message : String(error)}`
}

const NAME_FORM = {
  type: 'object' as const,
  properties: { name: { type: 'string' as const } },
  required: ['name'],
}

const done = (text: string) => ({ content: [{ type: 'text' as const, text }] })

/** The 2026-07-28 scenarios' diagnostic tools (SEP-2575 stateless, SEP-2322 multi-round-trip, SEP-2243 headers). */
function modernTools(
  server: Pick<MCPServer, 'notifyToolListChanged' | 'notifyPromptListChanged'>,
): Collectable[] {
  return [
    tool(
      {
        name: 'test_x_mcp_header',
        description: 'Tests SEP-2243 Mcp-Param-* server-side validation',
        inputJsonSchema: {
          type: 'object',
          properties: {
            region: {
              type: 'string',
              description: 'mirrored into Mcp-Param-Region',
              'x-mcp-header': 'Region',
            },
            level: { type: 'integer', description: 'non-mirrored argument' },
          },
        },
      },
      (args) => `region=${typeof args.region === 'string' ? args.region : '<none>'}`,
    ),
    tool(
      {
        name: 'test_missing_capability',
        description: 'SEP-2575: requires the `sampling` client capability (-32021 when undeclared)',
      },
      () =>
        getContext().inputResponses?.llm_answer === undefined
          ? inputRequired({
              inputRequests: {
                llm_answer: inputRequired.createMessage({
                  messages: [
                    {
                      role: 'user',
                      content: { type: 'text', text: 'Reply with the single word: pong' },
                    },
                  ],
                  maxTokens: 16,
                }),
              },
            })
          : 'sampling round-trip complete',
    ),
    tool(
      {
        name: 'test_streaming_elicitation',
        description:
          'SEP-2575: a response stream carrying no independent top-level JSON-RPC requests',
      },
      () => 'stream observed: result frames only, no top-level requests',
    ),
    tool(
      {
        name: 'test_logging_tool',
        description: 'SEP-2575: logs, delivered only when the request set _meta logLevel',
      },
      async () => {
        await getContext().log('info', 'test_logging_tool ran')
        return 'logged through the request-scoped, logLevel-gated channel'
      },
    ),
    tool(
      {
        name: 'test_trigger_tool_change',
        description: 'SEP-2575: publishes notifications/tools/list_changed to listen streams',
      },
      () => {
        server.notifyToolListChanged()
        return 'tools_list_changed published'
      },
    ),
    tool(
      {
        name: 'test_trigger_prompt_change',
        description: 'SEP-2575: publishes notifications/prompts/list_changed to listen streams',
      },
      () => {
        server.notifyPromptListChanged()
        return 'prompts_list_changed published'
      },
    ),
    tool(
      {
        name: 'test_input_required_result_elicitation',
        description: 'MRTR (SEP-2322): asks for the caller name via an in-band elicitation request',
      },
      () => {
        const name = acceptedContent<{ name: string }>(
          getContext().inputResponses,
          'user_name',
        )?.name
        if (typeof name === 'string') return done(`Hello, ${name}!`)
        return inputRequired({
          inputRequests: {
            user_name: inputRequired.elicit({
              message: 'What is your name?',
              requestedSchema: NAME_FORM,
            }),
          },
        })
      },
    ),
    tool(
      {
        name: 'test_input_required_result_sampling',
        description: 'MRTR (SEP-2322): asks for an LLM completion via an in-band sampling request',
      },
      () => {
        const answer = inputResponse(getContext().inputResponses, 'capital_question')
        if (answer.kind === 'sampling') {
          const block = Array.isArray(answer.result.content) ? undefined : answer.result.content
          return done(
            `Sampling response: ${block?.type === 'text' ? block.text : JSON.stringify(answer.result)}`,
          )
        }
        return inputRequired({
          inputRequests: {
            capital_question: inputRequired.createMessage({
              messages: [
                { role: 'user', content: { type: 'text', text: 'What is the capital of France?' } },
              ],
              maxTokens: 100,
            }),
          },
        })
      },
    ),
    tool(
      {
        name: 'test_input_required_result_list_roots',
        description: 'MRTR (SEP-2322): asks for the client roots via an in-band roots/list request',
      },
      () => {
        const answer = inputResponse(getContext().inputResponses, 'client_roots')
        if (answer.kind === 'roots') {
          const uris = answer.roots.map((root) => root.uri).join(', ')
          return done(`Client exposed ${answer.roots.length} root(s): ${uris}`)
        }
        return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } })
      },
    ),
    tool(
      {
        name: 'test_input_required_result_request_state',
        description:
          'MRTR (SEP-2322): round-trips integrity-protected requestState with an elicitation',
      },
      async () => {
        const context = getContext()
        const confirmation = acceptedContent<{ ok: boolean }>(context.inputResponses, 'confirm')
        if (confirmation !== undefined && context.requestState() !== undefined) {
          return done('state-ok: requestState verified and confirmation received')
        }
        return inputRequired({
          inputRequests: {
            confirm: inputRequired.elicit({
              message: 'Please confirm',
              requestedSchema: CONFIRM_FORM,
            }),
          },
          requestState: await context.mintRequestState({ tool: 'request_state' }),
        })
      },
    ),
    tool(
      {
        name: 'test_input_required_result_multiple_inputs',
        description: 'MRTR (SEP-2322): asks for elicitation, sampling and roots input in one round',
      },
      async () => {
        const context = getContext()
        const name = acceptedContent<{ name: string }>(context.inputResponses, 'user_name')?.name
        const greeting = inputResponse(context.inputResponses, 'greeting')
        const roots = inputResponse(context.inputResponses, 'client_roots')
        if (typeof name === 'string' && greeting.kind === 'sampling' && roots.kind === 'roots') {
          const block = Array.isArray(greeting.result.content) ? undefined : greeting.result.content
          return done(
            `${block?.type === 'text' ? block.text : 'Hello'} ${name} — ${roots.roots.length} root(s) visible`,
          )
        }
        return inputRequired({
          inputRequests: {
            user_name: inputRequired.elicit({
              message: 'What is your name?',
              requestedSchema: NAME_FORM,
            }),
            greeting: inputRequired.createMessage({
              messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }],
              maxTokens: 50,
            }),
            client_roots: inputRequired.listRoots(),
          },
          requestState: await context.mintRequestState({ tool: 'multiple_inputs' }),
        })
      },
    ),
    tool(
      {
        name: 'test_input_required_result_multi_round',
        description: 'MRTR (SEP-2322): two elicitation rounds with evolving requestState',
      },
      async () => {
        const context = getContext()
        const state = context.requestState<{ round: number; name?: string }>()
        const round = typeof state?.round === 'number' ? state.round : 0
        if (round === 0) {
          return inputRequired({
            inputRequests: {
              step1: inputRequired.elicit({
                message: 'Step 1: What is your name?',
                requestedSchema: NAME_FORM,
              }),
            },
            requestState: await context.mintRequestState({ round: 1 }),
          })
        }
        if (round === 1) {
          const name =
            acceptedContent<{ name: string }>(context.inputResponses, 'step1')?.name ?? 'unknown'
          return inputRequired({
            inputRequests: {
              step2: inputRequired.elicit({
                message: 'Step 2: What is your favorite color?',
                requestedSchema: {
                  type: 'object',
                  properties: { color: { type: 'string' } },
                  required: ['color'],
                },
              }),
            },
            requestState: await context.mintRequestState({ round: 2, name }),
          })
        }
        const color =
          acceptedContent<{ color: string }>(context.inputResponses, 'step2')?.color ?? 'unknown'
        return done(`Multi-round complete: ${state?.name ?? 'unknown'} likes ${color}`)
      },
    ),
    tool(
      {
        name: 'test_input_required_result_tampered_state',
        description:
          'MRTR (SEP-2322): a retry whose requestState fails verification is refused (-32602)',
      },
      async () => {
        const context = getContext()
        if (
          context.requestState() !== undefined &&
          acceptedContent(context.inputResponses, 'confirm') !== undefined
        ) {
          return done('integrity-ok: requestState verified')
        }
        return inputRequired({
          inputRequests: {
            confirm: inputRequired.elicit({
              message: 'Please confirm',
              requestedSchema: CONFIRM_FORM,
            }),
          },
          requestState: await context.mintRequestState({ tool: 'tampered_state' }),
        })
      },
    ),
    tool(
      {
        name: 'test_input_required_result_capabilities',
        description:
          'MRTR (SEP-2322): only requests input kinds the declared client capabilities cover',
      },
      () => {
        const context = getContext()
        if (context.inputResponses !== undefined)
          return done('Capability-aware input requests fulfilled')
        const declared = context.clientCapabilities
        const inputRequests: InputRequests = {}
        if (declared?.elicitation !== undefined) {
          inputRequests.user_name = inputRequired.elicit({
            message: 'What is your name?',
            requestedSchema: NAME_FORM,
          })
        }
        if (declared?.sampling !== undefined) {
          inputRequests.greeting = inputRequired.createMessage({
            messages: [
              { role: 'user', content: { type: 'text', text: 'Generate a short greeting' } },
            ],
            maxTokens: 50,
          })
        }
        if (declared?.roots !== undefined) inputRequests.client_roots = inputRequired.listRoots()
        if (Object.keys(inputRequests).length === 0) {
          return done('No declared client capability supports an in-band input request')
        }
        return inputRequired({ inputRequests })
      },
    ),
  ]
}

const CONFIRM_FORM = {
  type: 'object' as const,
  properties: { ok: { type: 'boolean' as const } },
  required: ['ok'],
}

function tools(): Collectable[] {
  return [
    tool({ name: 'test_simple_text', description: 'Tests simple text content response' }, () => ({
      content: [{ type: 'text', text: 'This is a simple text response for testing.' }],
    })),
    tool({ name: 'test_image_content', description: 'Tests image content response' }, () => ({
      content: [{ type: 'image', data: TEST_IMAGE_BASE64, mimeType: 'image/png' }],
    })),
    tool({ name: 'test_audio_content', description: 'Tests audio content response' }, () => ({
      content: [{ type: 'audio', data: TEST_AUDIO_BASE64, mimeType: 'audio/wav' }],
    })),
    tool(
      { name: 'test_embedded_resource', description: 'Tests embedded resource content response' },
      () => ({
        content: [
          {
            type: 'resource',
            resource: {
              uri: 'test://embedded-resource',
              mimeType: 'text/plain',
              text: 'This is an embedded resource content.',
            },
          },
        ],
      }),
    ),
    tool(
      {
        name: 'test_multiple_content_types',
        description: 'Tests response with multiple content types (text, image, resource)',
      },
      () => ({
        content: [
          { type: 'text', text: 'Multiple content types test:' },
          { type: 'image', data: TEST_IMAGE_BASE64, mimeType: 'image/png' },
          {
            type: 'resource',
            resource: {
              uri: 'test://mixed-content-resource',
              mimeType: 'application/json',
              text: JSON.stringify({ test: 'data', value: 123 }),
            },
          },
        ],
      }),
    ),
    tool(
      {
        name: 'test_tool_with_logging',
        description: 'Tests tool that emits log messages during execution',
      },
      async () => {
        const context = getContext()
        await context.log('info', 'Tool execution started')
        await pause(50)
        await context.log('info', 'Tool processing data')
        await pause(50)
        await context.log('info', 'Tool execution completed')
        return 'Tool with logging executed successfully'
      },
    ),
    tool(
      {
        name: 'test_tool_with_progress',
        description: 'Tests tool that reports progress notifications',
      },
      async () => {
        const context = getContext()
        for (const step of [0, 50, 100]) {
          await context.progress(step, 100, `Completed step ${step} of 100`)
          if (step !== 100) await pause(50)
        }
        return 'Progress reported'
      },
    ),
    tool({ name: 'test_error_handling', description: 'Tests error response handling' }, () => {
      throw new Error('This tool intentionally returns an error for testing')
    }),
    tool(
      {
        name: 'test_sampling',
        description: 'Tests server-initiated sampling (LLM completion request)',
        inputSchema: { prompt: z.string().describe('The prompt to send to the LLM') },
      },
      async ({ prompt: text }) => {
        try {
          const result = await getContext().sample({
            messages: [{ role: 'user', content: { type: 'text', text } }],
            maxTokens: 100,
          })
          const reply =
            !Array.isArray(result.content) && result.content.type === 'text'
              ? result.content.text
              : 'No response'
          return `LLM response: ${reply}`
        } catch (error) {
          return failureText('Sampling not supported or error', error)
        }
      },
    ),
    tool(
      {
        name: 'test_elicitation',
        description: 'Tests server-initiated elicitation (user input request)',
        inputSchema: { message: z.string().describe('The message to show the user') },
      },
      async ({ message }) => {
        try {
          const result = await getContext().elicit({
            message,
            requestedSchema: {
              type: 'object',
              properties: { response: { type: 'string', description: "User's response" } },
              required: ['response'],
            },
          })
          return `User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`
        } catch (error) {
          return failureText('Elicitation not supported or error', error)
        }
      },
    ),
    tool(
      {
        name: 'test_elicitation_sep1034_defaults',
        description: 'Tests elicitation with default values per SEP-1034',
      },
      async () => {
        try {
          const result = await getContext().elicit({
            message: 'Please review and update the form fields with defaults',
            requestedSchema: {
              type: 'object',
              properties: {
                name: { type: 'string', description: 'User name', default: 'John Doe' },
                age: { type: 'integer', description: 'User age', default: 30 },
                score: { type: 'number', description: 'User score', default: 95.5 },
                status: {
                  type: 'string',
                  description: 'User status',
                  enum: ['active', 'inactive', 'pending'],
                  default: 'active',
                },
                verified: { type: 'boolean', description: 'Verification status', default: true },
              },
              required: [],
            },
          })
          return `Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`
        } catch (error) {
          return failureText('Elicitation not supported or error', error)
        }
      },
    ),
    tool(
      {
        name: 'test_elicitation_sep1330_enums',
        description: 'Tests elicitation with enum schema improvements per SEP-1330',
      },
      async () => {
        const options = (titles: string[], prefix: string) =>
          titles.map((title, index) => ({ const: `${prefix}${index + 1}`, title }))
        try {
          const result = await getContext().elicit({
            message: 'Please select options from the enum fields',
            requestedSchema: {
              type: 'object',
              properties: {
                untitledSingle: {
                  type: 'string',
                  description: 'Select one option',
                  enum: ['option1', 'option2', 'option3'],
                },
                titledSingle: {
                  type: 'string',
                  description: 'Select one option with titles',
                  oneOf: options(['First Option', 'Second Option', 'Third Option'], 'value'),
                },
                legacyEnum: {
                  type: 'string',
                  description: 'Select one option (legacy)',
                  enum: ['opt1', 'opt2', 'opt3'],
                  enumNames: ['Option One', 'Option Two', 'Option Three'],
                },
                untitledMulti: {
                  type: 'array',
                  description: 'Select multiple options',
                  minItems: 1,
                  maxItems: 3,
                  items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
                },
                titledMulti: {
                  type: 'array',
                  description: 'Select multiple options with titles',
                  minItems: 1,
                  maxItems: 3,
                  items: {
                    anyOf: options(['First Choice', 'Second Choice', 'Third Choice'], 'value'),
                  },
                },
              },
              required: [],
            },
          })
          return `Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`
        } catch (error) {
          return failureText('Elicitation not supported or error', error)
        }
      },
    ),
    tool(
      {
        name: 'json_schema_2020_12_tool',
        description: 'Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)',
        inputJsonSchema: {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          type: 'object',
          $defs: {
            address: {
              $anchor: 'addressDef',
              type: 'object',
              properties: { street: { type: 'string' }, city: { type: 'string' } },
            },
          },
          properties: {
            name: { type: 'string' },
            address: { $ref: '#/$defs/address' },
            contactMethod: { type: 'string', enum: ['phone', 'email'] },
            phone: { type: 'string' },
            email: { type: 'string' },
          },
          allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
          if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
          then: { required: ['phone'] },
          else: { required: ['email'] },
          additionalProperties: false,
        },
      },
      (args) => `JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`,
    ),
    tool(
      {
        name: 'test_reconnection',
        description:
          'Tests SSE stream disconnection and client reconnection (SEP-1699): the stream closes mid-call and the result arrives after the client reconnects.',
      },
      async () => {
        getContext().closeStream()
        await pause(100)
        return 'Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.'
      },
    ),
  ]
}

function resources(): Collectable[] {
  return [
    resource(
      {
        name: 'static-text',
        uri: 'test://static-text',
        title: 'Static Text Resource',
        description: 'A static text resource for testing',
        mimeType: 'text/plain',
      },
      () => ({
        contents: [
          {
            uri: 'test://static-text',
            mimeType: 'text/plain',
            text: 'This is the content of the static text resource.',
          },
        ],
      }),
    ),
    resource(
      {
        name: 'static-binary',
        uri: 'test://static-binary',
        title: 'Static Binary Resource',
        description: 'A static binary resource (image) for testing',
        mimeType: 'image/png',
      },
      () => ({
        contents: [{ uri: 'test://static-binary', mimeType: 'image/png', blob: TEST_IMAGE_BASE64 }],
      }),
    ),
    resourceTemplate(
      {
        name: 'template',
        uriTemplate: 'test://template/{id}/data',
        title: 'Resource Template',
        description: 'A resource template with parameter substitution',
        mimeType: 'application/json',
      },
      (uri, { id }) => ({
        contents: [
          {
            uri: uri.href,
            mimeType: 'application/json',
            text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${String(id)}` }),
          },
        ],
      }),
    ),
    resource(
      {
        name: 'watched-resource',
        uri: 'test://watched-resource',
        title: 'Watched Resource',
        description: 'A resource clients may subscribe to',
        mimeType: 'text/plain',
      },
      () => ({
        contents: [
          {
            uri: 'test://watched-resource',
            mimeType: 'text/plain',
            text: 'Watched resource content',
          },
        ],
      }),
    ),
  ]
}

function prompts(): Collectable[] {
  return [
    prompt(
      {
        name: 'test_input_required_result_prompt',
        title: 'MRTR Prompt',
        description: 'MRTR (SEP-2322): prompt that requires elicitation input before rendering',
      },
      () => {
        const context = acceptedContent<{ context: string }>(
          getContext().inputResponses,
          'user_context',
        )?.context
        if (typeof context === 'string') {
          return {
            messages: [
              {
                role: 'user',
                content: { type: 'text', text: `Use the following context: ${context}` },
              },
            ],
          }
        }
        return inputRequired({
          inputRequests: {
            user_context: inputRequired.elicit({
              message: 'What context should the prompt use?',
              requestedSchema: {
                type: 'object',
                properties: { context: { type: 'string' } },
                required: ['context'],
              },
            }),
          },
        })
      },
    ),
    prompt(
      {
        name: 'test_simple_prompt',
        title: 'Simple Test Prompt',
        description: 'A simple prompt without arguments',
      },
      () => ({
        messages: [
          { role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } },
        ],
      }),
    ),
    prompt(
      {
        name: 'test_prompt_with_arguments',
        title: 'Prompt With Arguments',
        description: 'A prompt with required arguments',
        argsSchema: {
          arg1: z.string().describe('First test argument'),
          arg2: z.string().describe('Second test argument'),
        },
        complete: {
          arg1: (value) => ['paris', 'park', 'party'].filter((word) => word.startsWith(value)),
        },
      },
      ({ arg1, arg2 }) => ({
        messages: [
          {
            role: 'user',
            content: {
              type: 'text',
              text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`,
            },
          },
        ],
      }),
    ),
    prompt(
      {
        name: 'test_prompt_with_embedded_resource',
        title: 'Prompt With Embedded Resource',
        description: 'A prompt that includes an embedded resource',
        argsSchema: { resourceUri: z.string().describe('URI of the resource to embed') },
      },
      ({ resourceUri }) => ({
        messages: [
          {
            role: 'user',
            content: {
              type: 'resource',
              resource: {
                uri: resourceUri,
                mimeType: 'text/plain',
                text: 'Embedded resource content for testing.',
              },
            },
          },
          {
            role: 'user',
            content: { type: 'text', text: 'Please process the embedded resource above.' },
          },
        ],
      }),
    ),
    prompt(
      {
        name: 'test_prompt_with_image',
        title: 'Prompt With Image',
        description: 'A prompt that includes image content',
      },
      () => ({
        messages: [
          {
            role: 'user',
            content: { type: 'image', data: TEST_IMAGE_BASE64, mimeType: 'image/png' },
          },
          { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
        ],
      }),
    ),
  ]
}

/**
 * Every fixture of the conformance suite's server scenarios; `server` is where the list-change
 * triggers publish.
 */
export function conformanceFixtures(
  server: Pick<MCPServer, 'notifyToolListChanged' | 'notifyPromptListChanged'>,
): Collectable[] {
  return [...tools(), ...modernTools(server), ...taskTools(), ...resources(), ...prompts()]
}

/** Sleeps `ms`, ending early (rejecting) when `signal` aborts (tasks/cancel). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error('cancelled'))
      return
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(new Error('cancelled'))
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

const TASK_CONFIRM_FORM = {
  type: 'object' as const,
  properties: { confirm: { type: 'boolean' as const } },
  required: ['confirm'],
}

/** The tasks extension scenarios' tools (SEP-2663, `tasks-*`). */
function taskTools(): Collectable[] {
  return [
    tool(
      {
        name: 'greet',
        description: 'Sync-only: returns "Hello, {name}!"',
        inputSchema: { name: z.string() },
      },
      ({ name }) => `Hello, ${name}!`,
    ),
    tool(
      {
        name: 'slow_compute',
        description: 'Task-supporting: sleeps `seconds` seconds, then reports `label`',
        inputSchema: { seconds: z.number().min(0).max(3600), label: z.string().optional() },
        taskSupport: 'optional',
      },
      ({ seconds, label }) =>
        runAsTask(
          async () => {
            await sleep(seconds * 1000, getContext().signal)
            return `Computed ${label ?? 'result'} after ${seconds}s`
          },
          { statusMessage: 'computing' },
        ),
    ),
    tool(
      {
        name: 'failing_job',
        description: 'Task-only: reports a tool execution error after about one second',
        taskSupport: 'required',
      },
      () =>
        runAsTask(async () => {
          await sleep(1000, getContext().signal)
          return { content: [{ type: 'text', text: 'The job failed' }], isError: true }
        }),
    ),
    tool(
      {
        name: 'protocol_error_job',
        description: 'Task-supporting: fails with a protocol-level (JSON-RPC) error',
        taskSupport: 'optional',
      },
      () =>
        runAsTask(() => {
          throw new ProtocolError(ProtocolErrorCode.InternalError, 'The job crashed')
        }),
    ),
    tool(
      {
        name: 'confirm_delete',
        description:
          'Task-supporting: asks for confirmation (elicitation), then deletes `filename`',
        inputSchema: { filename: z.string() },
        taskSupport: 'optional',
      },
      ({ filename }) =>
        runAsTask(() => {
          const answer = acceptedContent<{ confirm?: boolean }>(
            getContext().inputResponses,
            'confirm',
          )
          if (answer === undefined) {
            return inputRequired({
              inputRequests: {
                confirm: inputRequired.elicit({
                  message: `Delete ${filename}?`,
                  requestedSchema: TASK_CONFIRM_FORM,
                }),
              },
            })
          }
          return answer.confirm === true ? `Deleted ${filename}` : `Kept ${filename}`
        }),
    ),
    tool(
      {
        name: 'multi_input',
        description: 'Task-supporting: asks for two inputs at once (a name and a confirmation)',
        taskSupport: 'optional',
      },
      () =>
        runAsTask(() => {
          const responses = getContext().inputResponses
          const name = acceptedContent<{ name?: string }>(responses, 'name')
          const confirm = acceptedContent<{ confirm?: boolean }>(responses, 'confirm')
          if (name === undefined || confirm === undefined) {
            return inputRequired({
              inputRequests: {
                name: inputRequired.elicit({
                  message: 'What is your name?',
                  requestedSchema: NAME_FORM,
                }),
                confirm: inputRequired.elicit({
                  message: 'Proceed?',
                  requestedSchema: TASK_CONFIRM_FORM,
                }),
              },
            })
          }
          return `Hello, ${String(name.name)}; confirmed: ${String(confirm.confirm)}`
        }),
    ),
    tool(
      {
        name: 'test_tool_with_task',
        description:
          'Task-only: asks for the caller name (multi-round-trip), then continues as a task',
        taskSupport: 'required',
      },
      () => {
        const name = acceptedContent<{ name: string }>(
          getContext().inputResponses,
          'user_name',
        )?.name
        if (typeof name !== 'string') {
          return inputRequired({
            inputRequests: {
              user_name: inputRequired.elicit({
                message: 'What is your name?',
                requestedSchema: NAME_FORM,
              }),
            },
          })
        }
        return runAsTask(() => `Hello, ${name}!`)
      },
    ),
  ]
}

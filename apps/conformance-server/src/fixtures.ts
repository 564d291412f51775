/**
 * The MCP conformance suite's server fixtures (tools, resources, prompts), built on the
 * public API of `@dauth/mcp-server` only.
 *
 * @module
 */
import {
  type Collectable,
  getContext,
  prompt,
  resource,
  resourceTemplate,
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

/** Every fixture of the conformance suite's server scenarios. */
export function conformanceFixtures(): Collectable[] {
  return [...tools(), ...resources(), ...prompts()]
}

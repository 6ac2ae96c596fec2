import { isRecord } from '../../runtime/is-record.js';
import { GatewayError } from '../errors.js';
import { describeValue, invalidType, unsupported } from './request-errors.js';

/** `include` values that chat completions can satisfy (or that need nothing from the model). */
const SUPPORTED_INCLUDES = new Set([
  'message.output_text.logprobs',
  // A reasoning item holds the upstream's reasoning in the open: there is no encrypted content
  // (but the one a client's reasoning item came with is kept and listed with it).
  'reasoning.encrypted_content',
  'message.input_image.image_url',
]);

/**
 * Every top-level parameter of a Responses create request (openai-node 6's
 * `ResponseCreateParams`, and `max_tool_calls` from the API reference). Any other name is refused
 * as OpenAI refuses it (`unknown_parameter`): translated to chat completions, it would otherwise
 * be dropped without a word.
 */
const KNOWN_PARAMETERS = new Set([
  'background',
  'context_management',
  'conversation',
  'include',
  'input',
  'instructions',
  'max_output_tokens',
  'max_tool_calls',
  'metadata',
  'model',
  'moderation',
  'parallel_tool_calls',
  'previous_response_id',
  'prompt',
  'prompt_cache_key',
  'prompt_cache_options',
  'prompt_cache_retention',
  'reasoning',
  'safety_identifier',
  'service_tier',
  'store',
  'stream',
  'stream_options',
  'temperature',
  'text',
  'tool_choice',
  'tools',
  'top_logprobs',
  'top_p',
  'truncation',
  'user',
]);

const TOOL_CHOICE_MODES = new Set(['none', 'auto', 'required']);
const TEXT_FORMATS = new Set(['text', 'json_object', 'json_schema']);

function checkFunctionTool(tool: Record<string, unknown>, path: string): void {
  if (typeof tool.name !== 'string' || tool.name === '') {
    throw tool.name === undefined
      ? GatewayError.invalidRequest(
          `Missing required parameter: '${path}.name'.`,
          `${path}.name`,
          'missing_required_parameter',
        )
      : invalidType(`${path}.name`, 'a non-empty string', tool.name);
  }
  const optional: [string, (v: unknown) => boolean, string][] = [
    ['parameters', isRecord, 'an object'],
    ['strict', (v) => typeof v === 'boolean', 'a boolean'],
    ['description', (v) => typeof v === 'string', 'a string'],
  ];
  for (const [field, check, expected] of optional) {
    const v = tool[field];
    if (v !== undefined && v !== null && !check(v)) {
      throw invalidType(`${path}.${field}`, expected, v);
    }
  }
}

function checkTools(tools: unknown): void {
  if (!Array.isArray(tools)) return;
  tools.forEach((tool: unknown, i) => {
    const path = `tools[${i}]`;
    if (!isRecord(tool)) throw invalidType(path, 'an object', tool);
    if (tool.type !== 'function') {
      throw unsupported(`${path}.type`, `The '${String(tool.type)}' tool`);
    }
    checkFunctionTool(tool, path);
  });
}

function checkToolChoice(choice: unknown): void {
  if (choice === undefined || choice === null) return;
  if (typeof choice === 'string') {
    if (TOOL_CHOICE_MODES.has(choice)) return;
    throw GatewayError.invalidRequest(
      `Invalid value for 'tool_choice': '${choice}'. Supported values are: 'none', 'auto' and 'required'.`,
      'tool_choice',
      'invalid_value',
    );
  }
  if (!isRecord(choice)) throw invalidType('tool_choice', 'a string or an object', choice);
  if (choice.type === 'function') {
    if (typeof choice.name !== 'string') {
      throw invalidType('tool_choice.name', 'a string', choice.name);
    }
    return;
  }
  if (choice.type === 'allowed_tools') {
    const tools = Array.isArray(choice.tools) ? choice.tools : [];
    tools.forEach((tool: unknown, i) => {
      if (!isRecord(tool) || tool.type !== 'function' || typeof tool.name !== 'string') {
        throw unsupported(`tool_choice.tools[${i}]`, 'An allowed tool other than a function');
      }
    });
    return;
  }
  throw unsupported('tool_choice.type', `The tool choice '${String(choice.type)}'`);
}

/**
 * Refuses a tool choice that no tool of the request can satisfy: `required` (or `allowed_tools` in
 * mode `required`) without a function, or a function that `tools` does not hold. Chat completions
 * take no tool choice without tools, so it would otherwise be dropped and the model answer freely.
 */
function checkToolChoiceTargets(choice: unknown, tools: unknown): void {
  const names = new Set(
    (Array.isArray(tools) ? tools : []).flatMap((tool: unknown) =>
      isRecord(tool) && typeof tool.name === 'string' ? [tool.name] : [],
    ),
  );
  const required = choice === 'required' || (isRecord(choice) && choice.mode === 'required');
  if (required && names.size === 0) {
    throw GatewayError.invalidRequest(
      "Invalid value for 'tool_choice': 'required' needs at least one function in 'tools', but none was given.",
      'tool_choice',
      'invalid_value',
    );
  }
  if (!isRecord(choice)) return;
  if (choice.type === 'function' && !names.has(String(choice.name))) {
    throw GatewayError.invalidRequest(
      `Tool choice 'function' not found in 'tools' parameter: no function named '${String(choice.name)}'.`,
      'tool_choice.name',
      'invalid_value',
    );
  }
}

function checkTextFormat(text: unknown): void {
  if (!isRecord(text) || text.format === undefined || text.format === null) return;
  const format = text.format;
  if (!isRecord(format)) throw invalidType('text.format', 'an object', format);
  if (typeof format.type !== 'string' || !TEXT_FORMATS.has(format.type)) {
    throw GatewayError.invalidRequest(
      `Invalid value for 'text.format.type': ${typeof format.type === 'string' ? `'${format.type}'` : describeValue(format.type)}. Supported values are: 'text', 'json_object' and 'json_schema'.`,
      'text.format.type',
      'invalid_value',
    );
  }
  if (format.type !== 'json_schema') return;
  if (typeof format.name !== 'string' || format.name === '') {
    throw invalidType('text.format.name', 'a non-empty string', format.name);
  }
  if (!isRecord(format.schema)) throw invalidType('text.format.schema', 'an object', format.schema);
}

/**
 * Refuses a body field the endpoint does not have, as OpenAI refuses it (`unknown_parameter`),
 * rather than dropping it without a word.
 */
export function rejectUnknownParameters(
  body: Record<string, unknown>,
  known: ReadonlySet<string>,
): void {
  for (const name in body) {
    if (!known.has(name)) {
      throw GatewayError.invalidRequest(`Unknown parameter: '${name}'.`, name, 'unknown_parameter');
    }
  }
}

/** Refuses an `include` value (of a create request, or of an item list's query) the gateway cannot give. */
export function checkInclude(include: unknown): void {
  if (!Array.isArray(include)) return;
  include.forEach((value: unknown, i) => {
    if (typeof value !== 'string' || !SUPPORTED_INCLUDES.has(value)) {
      throw unsupported(`include[${i}]`, `Including '${String(value)}'`);
    }
  });
}

/**
 * Refuses an item list's `include` query (`include[]=…` as openai-node sends it, or `include=…`)
 * as a create request's `include` is refused. `values` reads every value of a query parameter.
 */
export function checkIncludeQuery(values: (name: string) => string[] | undefined): void {
  checkInclude([...(values('include[]') ?? []), ...(values('include') ?? [])]);
}

/**
 * Refuses parameters OpenAI does not know, and what a chat-completions upstream cannot honour: built-in tools and tool choices, a
 * background run, stored prompts, moderation, server-side context management, and `include` values that
 * only those produce. A 400 names the parameter, so the client learns what to drop.
 */
export function rejectUnsupported(body: Record<string, unknown>): void {
  rejectUnknownParameters(body, KNOWN_PARAMETERS);
  if (body.background === true) {
    throw unsupported('background', "'background: true'");
  }
  if (body.prompt !== undefined && body.prompt !== null) {
    throw unsupported('prompt', 'A stored prompt');
  }
  if (body.moderation !== undefined && body.moderation !== null) {
    throw unsupported('moderation', 'Moderation of the input and output');
  }
  if (body.context_management !== undefined && body.context_management !== null) {
    throw unsupported('context_management', 'Server-side context management');
  }
  checkTools(body.tools);
  checkToolChoice(body.tool_choice);
  checkToolChoiceTargets(body.tool_choice, body.tools);
  checkTextFormat(body.text);
  checkInclude(body.include);
}

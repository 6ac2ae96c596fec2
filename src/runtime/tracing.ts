import type { Attributes, Context, Span, TextMapGetter } from '@opentelemetry/api';
import {
  defaultTextMapSetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
} from '@opentelemetry/sdk-trace-base';

export type { Span } from '@opentelemetry/api';
export { SpanKind } from '@opentelemetry/api';

/** One request's trace: its server span and the child spans of its stages. */
export interface RequestTrace {
  /** Starts a child span of the request's span. */
  child(name: string, attributes?: Attributes, kind?: SpanKind): Span;
  /** Ends `span` when the request's own span ends (a stream's upstream call lasts as long). */
  endWithRequest(span: Span): void;
  /** `traceparent` (and `tracestate`) continuing `span`, for a call it makes. */
  headersFor(span: Span): Record<string, string>;
  /**
   * Ends the request's span (and the spans waiting for it) with the response's facts: named by
   * `http.route` when the attributes have one, by the method alone otherwise (OpenTelemetry's
   * HTTP conventions). `upstreamFailure` (why, in the gateway's words) marks the waiting upstream
   * calls failed: a stream the upstream cut after its first chunk.
   */
  end(attributes: Attributes, failed: boolean, upstreamFailure: string | null): void;
}

/** OpenTelemetry tracing, off unless an OTLP endpoint is configured. */
export interface Tracing {
  readonly enabled: boolean;
  /** The request's trace, continuing the client's `traceparent`; null when tracing is off. */
  startRequest(
    headers: Headers,
    method: string,
    path: string,
    attributes: Attributes,
  ): RequestTrace | null;
  /** Sends the spans still buffered. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

const HEADERS_GETTER: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

const OFF: Tracing = {
  enabled: false,
  startRequest: () => null,
  flush: async () => {},
  shutdown: async () => {},
};

/** `k1=v1,k2=v2` (OTEL_EXPORTER_OTLP_HEADERS), values percent-decoded. */
function parseHeaderList(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const name = part.slice(0, at).trim();
    try {
      headers[name] = decodeURIComponent(part.slice(at + 1).trim());
    } catch {
      headers[name] = part.slice(at + 1).trim();
    }
  }
  return headers;
}

/** Where spans go, by the standard variables; undefined when none is set. */
function tracesEndpoint(env: Record<string, string | undefined>): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}

/**
 * Tracing from the standard `OTEL_*` variables: on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `…_TRACES_ENDPOINT`) is set, unless `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`.
 * Spans go over OTLP/HTTP (JSON) in batches, off the request path; headers from
 * `OTEL_EXPORTER_OTLP_HEADERS`, service name from `OTEL_SERVICE_NAME` (default `tollgate`). A
 * client's sampled-out `traceparent` is respected; `OTEL_TRACES_SAMPLER=always_off` turns
 * recording off while keeping the propagation.
 */
export function createTracing(env: Record<string, string | undefined>, version: string): Tracing {
  const url = tracesEndpoint(env);
  const exporterName = env.OTEL_TRACES_EXPORTER?.trim() || 'otlp';
  if (url === undefined || env.OTEL_SDK_DISABLED?.trim() === 'true' || exporterName === 'none') {
    return OFF;
  }
  const exporter = new OTLPTraceExporter({
    url,
    headers: parseHeaderList(
      env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS,
    ),
  });
  const root = env.OTEL_TRACES_SAMPLER?.includes('always_off')
    ? new AlwaysOffSampler()
    : new AlwaysOnSampler();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME?.trim() || 'tollgate',
      'service.version': version,
    }),
    sampler: new ParentBasedSampler({ root }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('tollgate', version);
  const propagator = new W3CTraceContextPropagator();

  return {
    enabled: true,
    startRequest(headers, method, path, attributes) {
      const parent = propagator.extract(ROOT_CONTEXT, headers, HEADERS_GETTER);
      const span = tracer.startSpan(
        `${method} ${path}`,
        {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': method, 'url.path': path, ...attributes },
        },
        parent,
      );
      const inside: Context = trace.setSpan(ROOT_CONTEXT, span);
      const waiting: Span[] = [];
      return {
        child: (name, childAttributes, kind = SpanKind.INTERNAL) =>
          tracer.startSpan(name, { kind, attributes: childAttributes }, inside),
        endWithRequest: (child) => void waiting.push(child),
        headersFor(child) {
          const carrier: Record<string, string> = {};
          propagator.inject(trace.setSpan(ROOT_CONTEXT, child), carrier, defaultTextMapSetter);
          return carrier;
        },
        end(endAttributes, failed, upstreamFailure) {
          for (const child of waiting) {
            if (upstreamFailure !== null) {
              child.setStatus({ code: SpanStatusCode.ERROR, message: upstreamFailure });
            }
            child.end();
          }
          const route = endAttributes['http.route'];
          span.updateName(typeof route === 'string' ? `${method} ${route}` : method);
          span.setAttributes(endAttributes);
          if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        },
      };
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** Marks a span failed with the error's message (never a prompt or a key: messages are ours). */
export function failSpan(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.end();
}

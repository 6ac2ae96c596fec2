import { describe, expect, it } from 'vitest';
import {
  defaultRouting,
  endpointOf,
  listedModels,
  parseRoutingConfig,
  routeModel,
} from '../../src/upstream/routing-config.js';

const file = JSON.stringify({
  upstreams: {
    openai: { baseURL: 'https://api.openai.com/v1/', apiKeyEnv: 'OPENAI_API_KEY' },
    azure: { baseURL: 'https://example.invalid/v1', apiKey: 'inline' },
  },
  models: {
    'gpt-4o': ['openai', { upstream: 'azure', model: 'gpt-4o-2024-08-06' }],
    fast: [{ upstream: 'openai', model: 'gpt-4o-mini' }],
  },
});

describe('routing config', () => {
  it('routes a model to its targets in order, with aliases', () => {
    const t = parseRoutingConfig(file, { OPENAI_API_KEY: 'sk-env' });
    expect(t.upstreams).toEqual([
      { name: 'openai', baseURL: 'https://api.openai.com/v1', apiKey: 'sk-env' },
      { name: 'azure', baseURL: 'https://example.invalid/v1', apiKey: 'inline' },
    ]);
    expect(routeModel(t, 'gpt-4o')).toEqual([
      { upstream: 'openai', model: null },
      { upstream: 'azure', model: 'gpt-4o-2024-08-06' },
    ]);
    expect(routeModel(t, 'fast')).toEqual([{ upstream: 'openai', model: 'gpt-4o-mini' }]);
    expect(routeModel(t, 'other')).toBeNull();
    expect(listedModels(t)).toEqual(['gpt-4o', 'fast']);
  });

  it('serves every model from the default upstream when no file is given', () => {
    const t = defaultRouting('https://api.openai.com/v1', 'sk');
    expect(routeModel(t, 'anything')).toEqual([{ upstream: 'default', model: null }]);
    expect(listedModels(t)).toBeNull();
  });

  it('explains a broken file', () => {
    expect(() => parseRoutingConfig('{', {})).toThrow(/not valid JSON/);
    expect(() =>
      parseRoutingConfig(JSON.stringify({ upstreams: { a: { baseURL: 'x' } } }), {}),
    ).toThrow(/baseURL/);
    expect(() =>
      parseRoutingConfig(
        JSON.stringify({ upstreams: { a: { baseURL: 'http://a' } }, models: { m: ['b'] } }),
        {},
      ),
    ).toThrow(/unknown upstream 'b'/);
  });

  it("names each upstream for spans: UPSTREAM_BASE_URL's as openai, a configured one by its name, with its host and port", () => {
    const [configured, other] = parseRoutingConfig(file, {}).upstreams.map(endpointOf);
    expect(configured).toEqual({ genAiProvider: 'openai', address: 'api.openai.com', port: 443 });
    expect(other).toEqual({ genAiProvider: 'azure', address: 'example.invalid', port: 443 });
    const [plain] = defaultRouting('http://[::1]:8080/v1', undefined).upstreams.map(endpointOf);
    expect(plain).toEqual({ genAiProvider: 'openai', address: '::1', port: 8080 });
    const [local] = defaultRouting('http://localhost/v1', undefined).upstreams.map(endpointOf);
    expect(local).toEqual({ genAiProvider: 'openai', address: 'localhost', port: 80 });
  });
});

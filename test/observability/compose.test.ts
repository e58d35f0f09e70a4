/**
 * docker-compose.yml and the demo's Dockerfile, checked statically (no container engine on CI): the file parses,
 * images are pinned, every mounted path exists, every port and host name one service uses to reach another agrees
 * with what that service listens on (HAProxy's config included), and the image holds everything the demo imports.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './dashboards.js';
import { hasRedisServer, startRedisServer } from '../harness/redis-servers.js';

interface Service {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  profiles?: string[];
  healthcheck?: { test: string[] };
  deploy?: { replicas?: number };
  container_name?: string;
}

const composeText = readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText, { strict: true, uniqueKeys: true }) as { name: string; services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;
const readYaml = (file: string) => parse(readFileSync(path.join(REPO_ROOT, file), 'utf8'), { strict: true, uniqueKeys: true });

/** `${NAME:-default}` -> default; plain values unchanged. */
function withDefaults(value: string): string {
  return value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
}

/** The value of a `--flag=value` argument in a command. */
function flag(service: Service, name: string): string | undefined {
  return service.command?.find((arg) => arg.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** haproxy/haproxy.cfg as sections ("frontend demo", "backend replicas", ...) of directive lines, comments dropped. */
function haproxySections(): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] = [];
  for (const raw of readFileSync(path.join(REPO_ROOT, 'haproxy/haproxy.cfg'), 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    if (/^\S/.test(raw)) sections.set(line, (current = []));
    else current.push(line);
  }
  return sections;
}
const haproxy = haproxySections();

/** The directives of a section that start with `keyword`, split into words. */
function directives(section: string, keyword: string): string[][] {
  expect(haproxy.has(section), `haproxy.cfg has "${section}"`).toBe(true);
  return haproxy.get(section)!.filter((line) => line === keyword || line.startsWith(`${keyword} `)).map((line) => line.split(/\s+/));
}

/** The port each service listens on inside its container, from its own configuration. */
function listenPort(name: string): number {
  const service = services[name]!;
  if (name === 'demo') return Number(service.environment?.PORT);
  if (name === 'proxy') return Number(directives('frontend demo', 'bind')[0]?.[1]?.split(':').pop());
  if (name === 'prometheus') return Number(flag(service, '--web.listen-address')?.split(':').pop() ?? 9090);
  if (name === 'grafana') return Number(service.environment?.GF_SERVER_HTTP_PORT ?? 3000);
  const portArg = service.command?.indexOf('--port') ?? -1;
  return portArg >= 0 ? Number(service.command![portArg + 1]) : 6379;
}

/** A `scheme://host:port` (or `host:port`) address that must name a service and the port it listens on. */
function expectServiceAddress(address: string, where: string): string {
  const match = /^(?:[a-z]+:\/\/)?([a-z0-9-]+):(\d+)/.exec(address);
  expect(match, `${where}: ${address} is host:port`).not.toBeNull();
  const [, host, port] = match!;
  expect(Object.keys(services), `${where}: ${host} is a service`).toContain(host);
  expect(Number(port), `${where}: ${host} listens on ${listenPort(host!)}`).toBe(listenPort(host!));
  return host!;
}

interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

function mounts(service: Service): Mount[] {
  return (service.volumes ?? []).map((entry) => {
    const [source, target, mode] = entry.split(':');
    return { source: source!, target: target!, readOnly: mode === 'ro' };
  });
}

/** The host path mounted at `containerPath` (exactly, or through a mounted parent directory). */
function hostPathOf(service: Service, containerPath: string): string | undefined {
  for (const mount of mounts(service)) {
    if (!mount.source.startsWith('./')) continue;
    if (containerPath === mount.target) return path.join(REPO_ROOT, mount.source);
    if (containerPath.startsWith(`${mount.target}/`)) return path.join(REPO_ROOT, mount.source, containerPath.slice(mount.target.length + 1));
  }
  return undefined;
}

describe('docker-compose.yml', () => {
  it('parses and has Redis, the Valkey alternative, the demo, its proxy, Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(['demo', 'grafana', 'prometheus', 'proxy', 'redis', 'valkey']);
  });

  it('pins every image to an exact version and builds the demo from the Dockerfile here', () => {
    for (const [name, service] of Object.entries(services)) {
      if (name === 'demo') continue;
      expect(service.image, name).toMatch(/^[a-z0-9./-]+:v?\d+\.\d+\.\d+(-[a-z0-9.]+)?$/);
    }
    expect(services.demo!.build).toBe('.');
    expect(existsSync(path.join(REPO_ROOT, 'Dockerfile'))).toBe(true);
  });

  it('mounts only paths that exist, read-only, and declares every named volume it uses (and uses every one)', () => {
    const used = new Set<string>();
    for (const [name, service] of Object.entries(services)) {
      for (const mount of mounts(service)) {
        if (mount.source.startsWith('./')) {
          expect(existsSync(path.join(REPO_ROOT, mount.source)), `${name}: ${mount.source}`).toBe(true);
          expect(mount.readOnly, `${name}: ${mount.source} is mounted :ro`).toBe(true);
        } else {
          expect(Object.keys(compose.volumes), `${name}: volume ${mount.source}`).toContain(mount.source);
          used.add(mount.source);
        }
      }
    }
    expect([...used].sort()).toEqual(Object.keys(compose.volumes).sort());
  });

  it('depends only on services that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      const dependencies = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
      for (const dependency of dependencies) {
        expect(Object.keys(services), `${name} depends on ${dependency}`).toContain(dependency);
        expect(dependency).not.toBe(name);
      }
    }
  });

  it('publishes each service on the port it listens on, no host port twice, and keeps Redis and Valkey internal', () => {
    const hostPorts: string[] = [];
    for (const [name, service] of Object.entries(services)) {
      for (const mapping of service.ports ?? []) {
        const [hostPort, containerPort] = mapping.split(':');
        expect(Number(containerPort), `${name} ${mapping}`).toBe(listenPort(name));
        hostPorts.push(hostPort!);
      }
    }
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
    expect(services.redis!.ports).toBeUndefined();
    expect(services.valkey!.ports).toBeUndefined();
    // Replicas cannot share a host port: the proxy publishes the demo's.
    expect(services.demo!.ports).toBeUndefined();
    expect(services.proxy!.ports).toEqual([`8080:${listenPort('proxy')}`]);
  });

  it('runs two replicas of the demo behind the proxy, which balances over every address of the demo service', () => {
    const demo = services.demo!;
    expect(demo.deploy?.replicas).toBe(2);
    expect(demo.container_name, 'a fixed container name allows one replica only').toBeUndefined();
    expect(services.proxy!.depends_on).toEqual({ demo: { condition: 'service_healthy' } });

    // The default backend: one server slot per address `demo` resolves to, re-resolved through Docker's DNS.
    expect(directives('frontend demo', 'default_backend')).toEqual([['default_backend', 'replicas']]);
    const [template] = directives('backend replicas', 'server-template');
    expect(template, 'backend replicas uses server-template').toBeDefined();
    const [, , slots, address, ...options] = template!;
    expect(Number(slots)).toBeGreaterThanOrEqual(demo.deploy!.replicas!);
    expect(expectServiceAddress(address!, 'proxy backend')).toBe('demo');
    expect(options).toEqual(expect.arrayContaining(['check', 'resolvers', 'docker', 'init-addr', 'none']));
    expect(directives('backend replicas', 'balance')).toEqual([['balance', 'roundrobin']]);
    expect(directives('resolvers docker', 'nameserver')).toEqual([['nameserver', 'docker', '127.0.0.11:53']]);
    // Health checks ask for a page every replica serves without a token.
    expect(directives('backend replicas', 'http-check')).toEqual([['http-check', 'send', 'meth', 'GET', 'uri', '/']]);
    expect(readFileSync(path.join(REPO_ROOT, 'examples/demo/server.ts'), 'utf8')).toContain("app.get('/', ");
  });

  it('sends the admin routes to replica 1, by the container name compose gives it', () => {
    const adminMount = /app\.use\('([^']+)', reprise\.router\)/.exec(readFileSync(path.join(REPO_ROOT, 'examples/demo/server.ts'), 'utf8'))?.[1];
    expect(adminMount).toBe('/api/agents/system');
    expect(directives('frontend demo', 'use_backend')).toEqual([['use_backend', 'admin', 'if', '{', 'path_beg', `${adminMount}/`, '}']]);
    const [server] = directives('backend admin', 'server');
    const [, , address] = server!;
    const [host, port] = address!.split(':');
    expect(host).toBe(`${compose.name}-demo-1`);
    expect(Number(port)).toBe(listenPort('demo'));
    expect(server).toEqual(expect.arrayContaining(['resolvers', 'docker', 'init-addr', 'none']));
  });

  it('runs Redis and Valkey with AOF persistence on a volume; Valkey only under its profile', () => {
    for (const name of ['redis', 'valkey']) {
      const command = services[name]!.command!.join(' ');
      expect(command, name).toContain('--appendonly yes');
      expect(mounts(services[name]!).map((mount) => mount.target), name).toContain('/data');
      expect(services[name]!.healthcheck?.test.join(' '), name).toMatch(/-cli ping$/);
    }
    expect(services.valkey!.profiles).toEqual(['valkey']);
    expect(services.redis!.profiles).toBeUndefined();
  });

  it('bounds Redis and Valkey with maxmemory and the policy README "Sizing Redis" chooses', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    for (const name of ['redis', 'valkey']) {
      const command = services[name]!.command!;
      const setting = (flag: string) => command[command.indexOf(flag) + 1];
      expect(setting('--maxmemory'), name).toMatch(/^\d+mb$/);
      expect(setting('--maxmemory-policy'), name).toBe('volatile-lru');
      expect(readme, name).toContain(`--maxmemory ${setting('--maxmemory')} --maxmemory-policy volatile-lru`);
    }
  });

  it.skipIf(!hasRedisServer)('passes settings a real redis-server takes as meant', async () => {
    const args = services.redis!.command!.slice(1).filter((_arg, index, all) => ['--maxmemory', '--maxmemory-policy'].includes(all[index]!) || ['--maxmemory', '--maxmemory-policy'].includes(all[index - 1]!));
    const server = await startRedisServer({ extraArgs: args });
    try {
      expect(server.cli('CONFIG', 'GET', 'maxmemory-policy').split('\n')[1]).toBe('volatile-lru');
      expect(Number(server.cli('CONFIG', 'GET', 'maxmemory').split('\n')[1])).toBe(Number(/^(\d+)mb$/.exec(args[1]!)![1]) * 1024 * 1024);
    } finally {
      await server.destroy();
    }
  });

  it('connects the demo to Redis by default and documents the Valkey switch with a host and port that agree', () => {
    const demo = services.demo!;
    expect(expectServiceAddress(withDefaults(demo.environment!.REDIS_URL!), 'demo REDIS_URL')).toBe('redis');
    expect(demo.depends_on).toMatchObject({ redis: { condition: 'service_healthy' } });
    const valkeySwitch = /REDIS_URL=(\S+) docker compose --profile valkey up/.exec(composeText);
    expect(valkeySwitch, 'the header says how to use Valkey').not.toBeNull();
    expect(expectServiceAddress(valkeySwitch![1]!, 'Valkey switch')).toBe('valkey');
  });

  it('makes the demo listen beyond loopback, and health-checks it on its own port', () => {
    const demo = services.demo!;
    expect(demo.environment!.HOST).toBe('0.0.0.0');
    const healthUrl = /http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(demo.healthcheck!.test.join(' '));
    expect(Number(healthUrl?.[1])).toBe(listenPort('demo'));
  });

  it('gives Prometheus the repository config, the rule files it names, and a volume for its data', () => {
    const prometheus = services.prometheus!;
    const configPath = flag(prometheus, '--config.file')!;
    expect(hostPathOf(prometheus, configPath)).toBe(path.join(REPO_ROOT, 'prometheus/prometheus.yml'));
    const config = readYaml('prometheus/prometheus.yml') as { rule_files: string[]; scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> };
    for (const ruleFile of config.rule_files) {
      const inContainer = path.posix.join(path.posix.dirname(configPath), ruleFile);
      const onHost = hostPathOf(prometheus, inContainer);
      expect(onHost, `${ruleFile} is mounted at ${inContainer}`).toBe(path.join(REPO_ROOT, 'prometheus', ruleFile));
    }
    const dataPath = flag(prometheus, '--storage.tsdb.path');
    expect(mounts(prometheus).find((mount) => mount.target === dataPath)?.source).toBe('prometheus-data');
  });

  it('has Prometheus scrape every replica of the demo on the demo port, each as its own instance', () => {
    type Job = { job_name: string; metrics_path: string; static_configs?: unknown; dns_sd_configs: Array<{ names: string[]; type: string; port: number }> };
    const config = readYaml('prometheus/prometheus.yml') as { scrape_configs: Job[] };
    const job = config.scrape_configs.find((candidate) => candidate.job_name === 'reprise');
    expect(job?.metrics_path).toBe('/metrics');
    // Not through the proxy: that would be one replica per scrape, whichever it picked, under one instance label.
    expect(job!.static_configs).toBeUndefined();
    expect(job!.dns_sd_configs).toHaveLength(1);
    const [discovery] = job!.dns_sd_configs;
    // One A record per replica: each address becomes a target, `instance` = address:port.
    expect(discovery!.type).toBe('A');
    expect(discovery!.names.map((name) => expectServiceAddress(`${name}:${discovery!.port}`, 'scrape target'))).toEqual(['demo']);
  });

  it('gives Grafana its provisioning and dashboards where the provisioning files say, and a datasource URL that reaches Prometheus', () => {
    const grafana = services.grafana!;
    expect(hostPathOf(grafana, '/etc/grafana/provisioning')).toBe(path.join(REPO_ROOT, 'grafana/provisioning'));
    const provider = (readYaml('grafana/provisioning/dashboards/reprise.yml') as { providers: Array<{ options: { path: string } }> }).providers[0]!;
    expect(hostPathOf(grafana, provider.options.path)).toBe(path.join(REPO_ROOT, 'grafana/dashboards'));
    const home = grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!;
    expect(statSync(hostPathOf(grafana, home)!).isFile(), home).toBe(true);
    const datasource = (readYaml('grafana/provisioning/datasources/prometheus.yml') as { datasources: Array<{ url: string }> }).datasources[0]!;
    expect(expectServiceAddress(datasource.url, 'Grafana datasource')).toBe('prometheus');
    expect(grafana.depends_on).toEqual(['prometheus']);
  });
});

describe('Dockerfile of the demo', () => {
  // One instruction per line once backslash continuations are joined.
  const lines = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ').split('\n')
    .map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  const instructions = lines.map((line) => {
    const [keyword, ...rest] = line.split(/\s+/);
    return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
  });
  const copies = instructions.filter((instruction) => instruction.keyword === 'COPY').map((instruction) => instruction.args.split(/\s+/).slice(0, -1)).flat();
  const ignored = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  const packageJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };

  it('builds on a pinned Node 20 slim image', () => {
    expect(instructions[0]).toEqual({ keyword: 'FROM', args: expect.stringMatching(/^node:20\.\d+\.\d+-slim$/) });
  });

  it('installs with npm ci from the lockfile before copying the code, and starts with npm start', () => {
    const copyLock = instructions.findIndex((instruction) => instruction.keyword === 'COPY' && instruction.args.includes('package-lock.json'));
    const install = instructions.findIndex((instruction) => instruction.keyword === 'RUN' && /\bnpm ci\b/.test(instruction.args));
    const copyCode = instructions.findIndex((instruction) => instruction.keyword === 'COPY' && instruction.args.startsWith('src'));
    expect(copyLock).toBeGreaterThan(0);
    expect(install).toBeGreaterThan(copyLock);
    expect(copyCode).toBeGreaterThan(install);
    expect(instructions.at(-1)).toEqual({ keyword: 'CMD', args: '["npm", "start"]' });
  });

  it('copies only paths that exist and that .dockerignore lets through', () => {
    expect(copies.length).toBeGreaterThan(0);
    for (const source of copies) {
      expect(existsSync(path.join(REPO_ROOT, source)), source).toBe(true);
      expect(ignored, `${source} is not ignored`).not.toContain(source);
    }
  });

  it('listens and exposes the port docker-compose publishes', () => {
    const env = instructions.filter((instruction) => instruction.keyword === 'ENV').map((instruction) => instruction.args).join(' ');
    const port = /\bPORT=(\d+)/.exec(env)?.[1];
    const expose = instructions.find((instruction) => instruction.keyword === 'EXPOSE')?.args;
    expect(port).toBe(String(listenPort('demo')));
    expect(expose).toBe(String(listenPort('demo')));
    expect(env).toContain('HOST=0.0.0.0');
  });

  it('holds every file the demo imports, and every package it imports is installed by npm ci', () => {
    const entry = /\b(examples\/demo\/main\.ts)\b/.exec(packageJson.scripts.start ?? '')?.[1];
    expect(entry, `npm start (${packageJson.scripts.start}) runs the demo`).toBe('examples/demo/main.ts');
    const packages = new Set([...Object.keys(packageJson.dependencies), ...Object.keys(packageJson.devDependencies)]);
    const inImage = (file: string) => copies.some((source) => file === source || file.startsWith(`${source}/`));
    const seen = new Set<string>();
    const queue = [entry!];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      expect(inImage(file), `${file} is copied into the image`).toBe(true);
      const source = readFileSync(path.join(REPO_ROOT, file), 'utf8');
      for (const [, specifier] of source.matchAll(/(?:from|import\()\s*'([^']+)'/g)) {
        if (specifier!.startsWith('.')) {
          const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier!.replace(/\.js$/, '.ts')));
          expect(existsSync(path.join(REPO_ROOT, resolved)), `${file} imports ${specifier}`).toBe(true);
          queue.push(resolved);
        } else if (!specifier!.startsWith('node:') && !builtinModules.includes(specifier!)) {
          const name = specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!;
          expect(packages, `${file} imports ${name}`).toContain(name);
        }
      }
    }
    expect(seen.size).toBeGreaterThan(5);
  });
});

/** The Grafana dashboards in grafana/dashboards, read as their JSON, with their panels and queries listed. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const DASHBOARDS_DIR = path.join(REPO_ROOT, 'grafana/dashboards');

export interface Datasource {
  type?: string;
  uid?: string;
}

export interface Target {
  refId: string;
  expr?: string;
  legendFormat?: string;
  datasource?: Datasource;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: Datasource;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  fieldConfig?: { defaults?: { unit?: string } };
  panels?: Panel[];
}

export interface TemplateVariable {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: Datasource;
  includeAll?: boolean;
  allValue?: string;
}

export interface Dashboard {
  file: string;
  /** The raw text, for checks on what must never appear in it. */
  text: string;
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: TemplateVariable[] };
  [key: string]: unknown;
}

export function loadDashboards(): Dashboard[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file): Dashboard => {
      const text = readFileSync(path.join(DASHBOARDS_DIR, file), 'utf8');
      return { ...(JSON.parse(text) as Omit<Dashboard, 'file' | 'text'>), file, text } as Dashboard;
    });
}

/** Every panel that shows data (rows left out, panels nested in collapsed rows included). */
export function dataPanels(dashboard: Dashboard): Panel[] {
  const all = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  return all.filter((panel) => panel.type !== 'row');
}

/** "<dashboard title> / <panel title> [refId]": how failures name a query. */
export function queryName(dashboard: Dashboard, panel: Panel, target: Target): string {
  return `${dashboard.title} / ${panel.title} [${target.refId}]`;
}

/** The PromQL of a query variable (Grafana stores it as a string or as { query }). */
export function variableQuery(variable: TemplateVariable): string {
  return typeof variable.query === 'string' ? variable.query : variable.query?.query ?? '';
}

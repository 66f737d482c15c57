import type { JsonSchema } from './messages';
import { schemaTypes } from './schema-keywords';

export interface ConnectorSpecInfo {
  name: string;
  version: string;
  description: string;
  capabilities: string[];
  configSchema: JsonSchema;
  env?: Record<string, string[]>;
}

/** `--about --format json`: the Meltano SDK's shape. Holds the schema only, never a value. */
export function aboutJson(spec: ConnectorSpecInfo): Record<string, unknown> {
  return {
    name: spec.name,
    description: spec.description,
    version: spec.version,
    sdk_version: 'singer-ts',
    capabilities: spec.capabilities,
    settings: spec.configSchema,
    env_fallbacks: spec.env ?? {},
  };
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** `--about --format markdown`: a settings table a README can include. */
export function aboutMarkdown(spec: ConnectorSpecInfo): string {
  const lines = [
    `# ${spec.name}`,
    '',
    spec.description,
    '',
    `Version: ${spec.version}`,
    '',
    '## Capabilities',
    '',
    ...spec.capabilities.map((c) => `* \`${c}\``),
    '',
    '## Settings',
    '',
    '| Setting | Required | Type | Secret | Environment | Description |',
    '|:--|:--:|:--|:--:|:--|:--|',
  ];
  const required = new Set(Array.isArray(spec.configSchema.required) ? spec.configSchema.required : []);
  for (const [name, property] of Object.entries(spec.configSchema.properties ?? {})) {
    const types = schemaTypes(property).join(' \\| ') || 'any';
    const env = (spec.env?.[name] ?? []).map((v) => `\`${v}\``).join(', ');
    const description = typeof property.description === 'string' ? property.description : '';
    lines.push(
      `| ${name} | ${required.has(name) ? 'yes' : ''} | ${types} | ${property.secret === true ? 'yes' : ''} | ${env} | ${cell(description)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

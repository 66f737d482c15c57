import type { JsonSchema } from './messages';

/** Names of properties marked `"secret": true` (or `writeOnly`), with their paths. */
export function secretPaths(schema: JsonSchema, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const path = [...prefix, name];
    if (property.secret === true || property.writeOnly === true) out.push(path);
    if (property.properties) out.push(...secretPaths(property, path));
  }
  return out;
}

/** The JSON Schema types a property allows, `type` as a list. */
export function schemaTypes(schema: JsonSchema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (typeof schema.type === 'string') return [schema.type];
  if (schema.anyOf) return [...new Set(schema.anyOf.flatMap(schemaTypes))];
  return [];
}

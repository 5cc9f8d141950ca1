// The schema's leaves flattened in declaration order: what the CLI's flags, its help and the
// documentation checks are built from.
import { schema } from './schema.js';

/** One leaf of the schema, flattened. */
export interface SchemaLeaf {
  key: string;
  doc: string;
  env?: string;
  flag?: string;
  sensitive: boolean;
  /** True for on/off keys, whose CLI flag takes no value. */
  boolean: boolean;
  /** The value's format (nbw-uint, nbw-bool, nbw-path-list, ...). */
  format: string;
  default: unknown;
}

/** Every leaf of the schema in declaration order, for flags, help and documentation. */
export function schemaLeaves(): SchemaLeaf[] {
  const out: SchemaLeaf[] = [];
  const walk = (node: Record<string, unknown>, prefix: string) => {
    for (const [name, value] of Object.entries(node)) {
      const v = value as Record<string, unknown>;
      const key = prefix ? `${prefix}.${name}` : name;
      if ('default' in v) {
        out.push({
          key,
          doc: String(v.doc ?? ''),
          env: v.env as string | undefined,
          flag: v.flag as string | undefined,
          sensitive: v.sensitive === true,
          boolean: v.format === 'nbw-bool',
          format: String(v.format),
          default: v.default,
        });
      } else {
        walk(v, key);
      }
    }
  };
  walk(schema as unknown as Record<string, unknown>, '');
  return out;
}

/**
 * The Kong Mesh CA rotation procedure is the specification: every YAML block in it parses as-is,
 * round-trips, and the rotation plan reproduces its three steps exactly, in both formats.
 */
import { parse } from 'yaml';
import { parseDocuments } from '../../../src/mesh/documents';
import { planRotation } from '../../../src/mesh/plan';
import type { Mesh } from '../../../src/mesh/schema';
import { validateMesh } from '../../../src/mesh/validate';
import { formatDocumentsYaml, formatMeshYaml, type DocumentFormat } from '../../../src/mesh/yaml';
import { referenceYamlBlocks, type ReferenceBlock } from '../../fixtures/mesh/reference';

const blocks = referenceYamlBlocks();
const FORMATS: DocumentFormat[] = ['kubernetes', 'universal'];

function meshOf(block: ReferenceBlock): Mesh {
  const parsed = parseDocuments(block.text);
  if (!parsed.ok) throw new Error(`reference block at line ${block.line} does not parse: ${JSON.stringify(parsed.errors)}`);
  return parsed.mesh;
}

/** Per tab: [overview, current (ca-1 only), step 1, step 2, step 3]. */
function tabBlocks(format: DocumentFormat): ReferenceBlock[] {
  return blocks.filter((block) => block.tab === format);
}

describe('the reference procedure', () => {
  it('has the five blocks per format these tests rely on', () => {
    expect(tabBlocks('kubernetes')).toHaveLength(5);
    expect(tabBlocks('universal')).toHaveLength(5);
  });

  describe.each(blocks.map((block) => [`${block.tab} block at line ${block.line}`, block] as const))('%s', (_name, block) => {
    it('parses as-is, in its own format, with no warnings', () => {
      const parsed = parseDocuments(block.text);
      expect(parsed).toMatchObject({ ok: true, format: block.tab, warnings: [], secrets: [] });
    });

    it('passes static validation (secret references are checked by validateDocuments, not here)', () => {
      expect(validateMesh(meshOf(block), undefined)).toEqual({ errors: [], warnings: [] });
    });

    it('round-trips through the printer to the same data, in both formats', () => {
      const mesh = meshOf(block);
      for (const format of FORMATS) {
        const reparsed = parseDocuments(formatMeshYaml(mesh, format));
        expect(reparsed).toMatchObject({ ok: true, format, mesh });
      }
      expect(parse(formatMeshYaml(mesh, block.tab))).toEqual(parse(block.text));
    });
  });

  it('says the same thing in both tabs', () => {
    const kubernetes = tabBlocks('kubernetes').map(meshOf);
    const universal = tabBlocks('universal').map(meshOf);
    expect(kubernetes).toEqual(universal);
  });

  describe.each(FORMATS)('planRotation from the current mesh to ca-2 (%s)', (format) => {
    const [, current, ...steps] = tabBlocks(format);
    const target: Mesh = {
      type: 'Mesh',
      name: 'default',
      mtls: { enabledBackend: 'ca-2', backends: [{ name: 'ca-2', type: 'provided', conf: { cert: { secret: 'ca-2-cert' }, key: { secret: 'ca-2-key' } } }] },
    };

    it('yields exactly the three step documents of the reference, byte for byte', () => {
      const result = planRotation(meshOf(current as ReferenceBlock), target);
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      expect(result.plan).toMatchObject({ mesh: 'default', from: 'ca-1', to: 'ca-2' });
      expect(result.plan.steps.map((step) => step.name)).toEqual(['add-backend', 'switch-enabled', 'remove-old']);
      expect(result.plan.steps.map((step) => formatMeshYaml(step.mesh, format))).toEqual(steps.map((step) => step.text));
      expect(formatDocumentsYaml(result.plan.steps.map((step) => step.mesh), format)).toBe(steps.map((step) => step.text).join('---\n'));
    });
  });
});

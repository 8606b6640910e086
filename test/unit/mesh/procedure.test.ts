/**
 * The Kong Mesh CA rotation procedure is the specification: each of its Mesh documents (kept in
 * test/fixtures/mesh/procedure) parses as-is, round-trips, and the rotation plan reproduces its three
 * steps exactly, in both formats.
 */
import { parse } from 'yaml';
import { parseDocuments } from '../../../src/mesh/documents';
import { planRotation } from '../../../src/mesh/plan';
import type { Mesh } from '../../../src/mesh/schema';
import { validateMesh } from '../../../src/mesh/validate';
import { formatDocumentsYaml, formatMeshYaml, type DocumentFormat } from '../../../src/mesh/yaml';
import { allProcedureDocuments, procedureDocuments, type ProcedureDocument } from '../../fixtures/mesh/procedure';

const documents = allProcedureDocuments();
const FORMATS: DocumentFormat[] = ['kubernetes', 'universal'];

function meshOf(document: ProcedureDocument): Mesh {
  const parsed = parseDocuments(document.text);
  if (!parsed.ok) throw new Error(`${document.format}/${document.file} does not parse: ${JSON.stringify(parsed.errors)}`);
  return parsed.mesh;
}

/** Per format: [current (ca-1 only), step 1, step 2, step 3]. */
function inOrder(format: DocumentFormat): ProcedureDocument[] {
  const { current, steps } = procedureDocuments(format);
  return [current, ...steps];
}

describe('the Kong Mesh CA rotation procedure', () => {
  it('has the starting mesh and three steps per format', () => {
    expect(inOrder('kubernetes')).toHaveLength(4);
    expect(inOrder('universal')).toHaveLength(4);
  });

  describe.each(documents.map((document) => [`${document.format}/${document.file}`, document] as const))('%s', (_name, document) => {
    it('parses as-is, in its own format, with no warnings', () => {
      const parsed = parseDocuments(document.text);
      expect(parsed).toMatchObject({ ok: true, format: document.format, warnings: [], secrets: [] });
    });

    it('passes static validation (secret references are checked by validateDocuments, not here)', () => {
      expect(validateMesh(meshOf(document), undefined)).toEqual({ errors: [], warnings: [] });
    });

    it('round-trips through the printer to the same data, in both formats', () => {
      const mesh = meshOf(document);
      for (const format of FORMATS) {
        const reparsed = parseDocuments(formatMeshYaml(mesh, format));
        expect(reparsed).toMatchObject({ ok: true, format, mesh });
      }
      expect(parse(formatMeshYaml(mesh, document.format))).toEqual(parse(document.text));
    });
  });

  it('says the same thing in both formats', () => {
    expect(inOrder('kubernetes').map(meshOf)).toEqual(inOrder('universal').map(meshOf));
  });

  describe.each(FORMATS)('planRotation from the current mesh to ca-2 (%s)', (format) => {
    const { current, steps } = procedureDocuments(format);
    const target: Mesh = {
      type: 'Mesh',
      name: 'default',
      mtls: { enabledBackend: 'ca-2', backends: [{ name: 'ca-2', type: 'provided', conf: { cert: { secret: 'ca-2-cert' }, key: { secret: 'ca-2-key' } } }] },
    };

    it('yields exactly the three step documents of the procedure, byte for byte', () => {
      const result = planRotation(meshOf(current), target);
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      expect(result.plan).toMatchObject({ mesh: 'default', from: 'ca-1', to: 'ca-2' });
      expect(result.plan.steps.map((step) => step.name)).toEqual(['add-backend', 'switch-enabled', 'remove-old']);
      expect(result.plan.steps.map((step) => formatMeshYaml(step.mesh, format))).toEqual(steps.map((step) => step.text));
      expect(formatDocumentsYaml(result.plan.steps.map((step) => step.mesh), format)).toBe(steps.map((step) => step.text).join('---\n'));
    });
  });
});

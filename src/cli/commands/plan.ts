/** `ca-rotate plan -f TARGET [--current FILE] [--json]`: the Mesh documents the rotation will apply. */
import { parseDocuments } from '../../mesh/documents';
import { planRotation } from '../../mesh/plan';
import type { Mesh } from '../../mesh/schema';
import { formatMeshYaml } from '../../mesh/yaml';
import { currentMesh } from '../control-plane';
import { readInputFile } from '../documents';
import { CliError, EXIT_OK, EXIT_REFUSED } from '../errors';
import { printIssues, printJson } from '../output';
import type { Settings } from '../settings';

function parseMeshFile(file: string, flag: string): { mesh: Mesh; format: 'universal' | 'kubernetes' } {
  const parsed = parseDocuments(readInputFile(file, flag));
  if (!parsed.ok) {
    process.stdout.write(`${file}: invalid\n`);
    printIssues('error', parsed.errors);
    throw new CliError(`${flag} ${file}: not a valid Mesh document`, EXIT_REFUSED);
  }
  return { mesh: parsed.mesh, format: parsed.format };
}

export async function planCommand(options: { file: string; current?: string; json?: boolean }, settings: Settings): Promise<number> {
  const target = parseMeshFile(options.file, '-f');
  const fromControlPlane = options.current ? undefined : await currentMesh(settings, target.mesh.name);
  const current = options.current ? parseMeshFile(options.current, '--current').mesh : (fromControlPlane as { mesh: Mesh }).mesh;
  const planned = planRotation(current, target.mesh);
  if (!planned.ok) {
    if (options.json) printJson({ valid: false, errors: planned.errors });
    else printIssues('error', planned.errors);
    return EXIT_REFUSED;
  }
  const { plan } = planned;
  const refusal = fromControlPlane?.refusal;
  if (options.json) {
    printJson({ mesh: plan.mesh, from: plan.from, to: plan.to, steps: plan.steps.map((s) => ({ name: s.name, mesh: s.mesh })), ...(refusal ? { refused: refusal } : {}) });
  } else {
    const documents = plan.steps.map((step, i) => `# step ${i + 1} of 3: ${step.name}\n${formatMeshYaml(step.mesh, target.format)}`);
    process.stdout.write(documents.join('---\n'));
  }
  // The plan is shown (it was read from this control plane), but this control plane cannot apply it.
  if (refusal) throw new CliError(refusal, EXIT_REFUSED);
  return EXIT_OK;
}

/** PIN policies: New-, Set-, Get- and Remove-UMMailboxPolicy (`umpin policy …`). */
import { InvalidArgument } from '../../errors.ts';
import { DEFAULT_POLICY, DEFAULT_POLICY_NAME, validatePolicy, type PinPolicy } from '../../pin/index.ts';
import { auditAdminChange } from '../audit.ts';
import type { Services } from '../services.ts';
import { withoutUndefined } from './arguments.ts';

export type PolicyChanges = Partial<Omit<PinPolicy, 'name'>>;

function checkPolicy(policy: PinPolicy): PinPolicy {
  const problems = validatePolicy(policy);
  if (problems.length > 0) throw new InvalidArgument(problems.map((p) => p.message).join(' '));
  return policy;
}

/** New-UMMailboxPolicy: Exchange's defaults, with the given changes. */
export async function newPolicy(services: Services, name: string, changes: PolicyChanges): Promise<PinPolicy> {
  const policy = checkPolicy({ ...DEFAULT_POLICY, ...withoutUndefined(changes), name });
  if (!(await services.store.createPolicy(policy))) throw new InvalidArgument(`A policy named "${name}" exists already.`);
  await auditAdminChange(services, 'policy.new', null, { policy: name });
  return policy;
}

/** Set-UMMailboxPolicy: applies to the policy's mailboxes at their next PIN check. */
export async function setPolicy(services: Services, name: string, changes: PolicyChanges): Promise<PinPolicy> {
  const [current] = await showPolicies(services, name);
  const given = withoutUndefined(changes);
  const policy = checkPolicy({ ...(current as PinPolicy), ...given, name });
  await services.store.updatePolicy(policy);
  await auditAdminChange(services, 'policy.set', null, { policy: name, changed: Object.keys(given).join(' ') });
  return policy;
}

export async function removePolicy(services: Services, name: string): Promise<void> {
  if (name === DEFAULT_POLICY_NAME) throw new InvalidArgument(`The "${DEFAULT_POLICY_NAME}" policy cannot be removed; new mailboxes use it.`);
  const result = await services.store.deletePolicy(name);
  if (result === 'missing') throw new InvalidArgument(`There is no policy "${name}"; list them with: umpin policy show`);
  if (result === 'in-use') throw new InvalidArgument(`The policy "${name}" is in use; move its mailboxes with: umpin mailbox set <login> --policy <other>`);
  await auditAdminChange(services, 'policy.remove', null, { policy: name });
}

export async function showPolicies(services: Services, name?: string): Promise<PinPolicy[]> {
  if (name === undefined) return services.store.listPolicies();
  const policy = await services.store.findPolicy(name);
  if (!policy) throw new InvalidArgument(`There is no policy "${name}"; list them with: umpin policy show`);
  return [policy];
}

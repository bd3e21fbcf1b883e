// Typed use of the generated code; `tsc --noEmit` over it is the check. Nothing runs.
import type * as FileSchema from './generated/file-schema';
import type * as FromFile from './generated/file-operations';
import type * as LiveSchema from './generated/live-schema';
import type * as FromLive from './generated/live-operations';
import type { JsonValue } from './json-value';

// The exported SDL and the live schema give the same types.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export const samePlan: Equal<FromFile.PlanQuery, FromLive.PlanQuery> = true;
export const sameSave: Equal<FromFile.SaveMutationVariables, FromLive.SaveMutationVariables> = true;
export const sameEvents: Equal<FromFile.EventsSubscription, FromLive.EventsSubscription> = true;
export const sameHistory: Equal<FromFile.HistoryQuery, FromLive.HistoryQuery> = true;
export const sameScalars: Equal<FileSchema.Scalars, LiveSchema.Scalars> = true;
export const sameSubmission: Equal<FileSchema.Submission, LiveSchema.Submission> = true;

// Custom scalars are mapped, not `any`.
export const issuedOn: LiveSchema.Scalars['Date']['output'] = '2022-03-11';
export const at: LiveSchema.Scalars['DateTime']['output'] = '2025-01-15T00:00:00.000Z';
// @ts-expect-error a Date is a string, not a number
export const notANumber: LiveSchema.Scalars['Date']['output'] = 20220311;
// @ts-expect-error a DateTime is a string, not a JavaScript Date
export const notADate: LiveSchema.Scalars['DateTime']['output'] = new Date();
export const json: LiveSchema.Scalars['JSON']['output'] = { status: 'DRAFT', version: 1 };

export function planYears(data: FromLive.PlanQuery): number {
  if (!data.plan) return 0;
  const issued: Date = new Date(`${data.plan.issuedOn}T00:00:00.000Z`);
  return data.plan.endYear - issued.getUTCFullYear();
}

export function lastChange(data: FromLive.HistoryQuery): JsonValue | undefined {
  const node = data.node;
  if (!node || node.__typename !== 'Submission') return undefined;
  const entry = node.history[node.history.length - 1];
  const when: number = Date.parse(entry.at);
  return when > 0 ? (entry.after ?? null) : undefined;
}

export function saveInput(taskId: string, deliverableId: string): FromLive.SaveMutationVariables {
  return {
    input: {
      taskId,
      periodCode: '2025',
      progress: 'IN_PROGRESS',
      deliverables: [{ deliverableId, status: 'COMPLETED', documentRef: 'Kế hoạch số 123/KH-UBND' }],
    },
  };
}

export function eventTime(event: FromLive.EventsSubscription): Date {
  return new Date(event.submissionEvents.at);
}

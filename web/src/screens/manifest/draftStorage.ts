// Keeps the builder's draft in sessionStorage so a reload (the step is in
// the URL) does not lose it; the tab's session is its lifetime.
import { defaultDraft, OUTPUT_FORMATS, SOURCE_TYPES, type ManifestDraft, type VmDraft } from "./draft";

export const DRAFT_STORAGE_KEY = "workflowd.manifest-builder.draft.v1";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `base` with the members of `stored` that have the same type; nested objects alike. */
function mergeSameShape<T>(base: T, stored: unknown): T {
  if (!isObject(stored) || !isObject(base)) return base;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(base)) {
    const s = stored[key];
    if (isObject(value)) out[key] = mergeSameShape(value, s);
    else if (typeof s === typeof value && !Array.isArray(value)) out[key] = s;
  }
  return out as T;
}

function storedVm(v: unknown, fallbackKey: number): VmDraft | null {
  if (!isObject(v)) return null;
  const sourceType = SOURCE_TYPES.find((t) => t === v.sourceType) ?? "vmdk";
  return {
    key: typeof v.key === "number" ? v.key : fallbackKey,
    name: typeof v.name === "string" ? v.name : "",
    sourceType,
    sourcePath: typeof v.sourcePath === "string" ? v.sourcePath : "",
    amiId: typeof v.amiId === "string" ? v.amiId : "",
  };
}

/** The saved draft, or a fresh one when there is none or it cannot be read. */
export function loadDraft(storage: Storage | undefined = globalThis.sessionStorage): ManifestDraft {
  const fresh = defaultDraft();
  let parsed: unknown;
  try {
    const text = storage?.getItem(DRAFT_STORAGE_KEY);
    if (text == null) return fresh;
    parsed = JSON.parse(text);
  } catch {
    return fresh;
  }
  if (!isObject(parsed)) return fresh;
  const draft = mergeSameShape(fresh, parsed);
  const vms = Array.isArray(parsed.vms)
    ? parsed.vms.map((v, i) => storedVm(v, i)).filter((v): v is VmDraft => v !== null)
    : [];
  draft.vms = vms.length > 0 ? vms : fresh.vms;
  draft.nextKey = Math.max(draft.nextKey, ...draft.vms.map((v) => v.key + 1));
  if (!OUTPUT_FORMATS.includes(draft.convert.outputFormat)) draft.convert.outputFormat = "qcow2";
  return draft;
}

export function saveDraft(draft: ManifestDraft, storage: Storage | undefined = globalThis.sessionStorage): void {
  try {
    storage?.setItem(DRAFT_STORAGE_KEY, JSON.stringify(draft));
  } catch {
    // Storage full or disabled (private mode): the draft then lives only
    // as long as the page, which is what it did before storage existed.
  }
}

export function clearDraft(storage: Storage | undefined = globalThis.sessionStorage): void {
  try {
    storage?.removeItem(DRAFT_STORAGE_KEY);
  } catch {
    // See saveDraft.
  }
}

// What every builder step gets: the draft, a way to change it, and the
// validator's problems by control id.
import type { ManifestDraft } from "./draft";

export interface StepProps {
  draft: ManifestDraft;
  update: (change: (draft: ManifestDraft) => ManifestDraft) => void;
  errors: Readonly<Record<string, string>>;
}

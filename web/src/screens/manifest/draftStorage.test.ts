import { describe, expect, it } from "vitest";

import { defaultDraft } from "./draft";
import { clearDraft, DRAFT_STORAGE_KEY, loadDraft, saveDraft } from "./draftStorage";

function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (k) => items.get(k) ?? null,
    key: (i) => [...items.keys()][i] ?? null,
    removeItem: (k) => void items.delete(k),
    setItem: (k, v) => void items.set(k, v),
  };
}

describe("draft storage", () => {
  it("gives the saved draft back, and a fresh one after clearing", () => {
    const storage = memoryStorage();
    const draft = defaultDraft();
    draft.batch = true;
    draft.vms = [
      { key: 0, name: "a", sourceType: "ova", sourcePath: "/in/a.ova", amiId: "" },
      { key: 4, name: "b", sourceType: "raw", sourcePath: "/in/b.img", amiId: "" },
    ];
    draft.fix.network.fixLevel = "none";
    saveDraft(draft, storage);
    const loaded = loadDraft(storage);
    expect(loaded).toEqual({ ...draft, nextKey: 5 });
    clearDraft(storage);
    expect(loadDraft(storage)).toEqual(defaultDraft());
  });

  it("falls back to the defaults for what cannot be read", () => {
    const storage = memoryStorage();
    storage.setItem(DRAFT_STORAGE_KEY, "{not json");
    expect(loadDraft(storage)).toEqual(defaultDraft());
    storage.setItem(DRAFT_STORAGE_KEY, JSON.stringify({ batch: "yes", vms: [{ sourceType: "iso", sourcePath: "/x" }], inspect: { enabled: false } }));
    const loaded = loadDraft(storage);
    expect(loaded.batch).toBe(false);
    expect(loaded.inspect).toEqual({ enabled: false, detectOs: true });
    expect(loaded.vms).toEqual([{ key: 0, name: "", sourceType: "vmdk", sourcePath: "/x", amiId: "" }]);
  });
});

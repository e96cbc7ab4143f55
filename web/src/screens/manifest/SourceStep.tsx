// Step 1: single VM or batch, and each VM's name and source.
import { useEffect, useRef } from "react";

import { newVm, SOURCE_TYPES, type SourceType, type VmDraft } from "./draft";
import { CheckboxField, RadioGroup, TextField } from "./controls";
import { vmControl } from "./problemPaths";
import type { StepProps } from "./stepProps";

const SOURCE_CHOICES = SOURCE_TYPES.map((t) => ({ value: t, label: t.toUpperCase() }));

export function SourceStep({ draft, update, errors }: StepProps) {
  const setVm = (index: number, change: Partial<VmDraft>) =>
    update((d) => ({ ...d, vms: d.vms.map((vm, i) => (i === index ? { ...vm, ...change } : vm)) }));
  const shown = draft.batch ? draft.vms : draft.vms.slice(0, 1);
  // A removed VM's button leaves the page with it; focus would fall to
  // <body>, so it goes to the name of the VM now in its place (or the last).
  const focusAfterRemove = useRef<number | null>(null);
  useEffect(() => {
    const index = focusAfterRemove.current;
    if (index === null) return;
    focusAfterRemove.current = null;
    document.getElementById(vmControl.name(Math.min(index, draft.vms.length - 1)))?.focus();
  }, [draft.vms.length]);

  return (
    <div className="stack">
      <CheckboxField
        id="manifest-batch"
        label="Batch of several VMs"
        checked={draft.batch}
        onChange={(batch) => update((d) => ({ ...d, batch }))}
        hint="A batch manifest runs one pipeline per VM, all with the same pipeline choices; each VM needs a unique name."
      />
      {shown.map((vm, i) => {
        // A single VM's controls need no number; a batch's say which VM they are for.
        const prefix = draft.batch ? `VM ${i + 1} ` : "";
        const cap = (s: string) => (prefix === "" ? s.charAt(0).toUpperCase() + s.slice(1) : s);
        return (
          <fieldset key={vm.key} className="card stack vm-source">
            <legend>{draft.batch ? `VM ${i + 1}${vm.name.trim() ? ` (${vm.name.trim()})` : ""}` : "VM"}</legend>
            <TextField
              id={vmControl.name(i)}
              label={draft.batch ? `${prefix}name` : "VM name (optional)"}
              value={vm.name}
              onChange={(name) => setVm(i, { name })}
              error={errors[vmControl.name(i)]}
              hint={draft.batch ? "Unique within the batch." : "Default: the source file's name without its extension."}
            />
            <RadioGroup
              id={vmControl.sourceType(i)}
              label={cap(`${prefix}source type`)}
              value={vm.sourceType}
              choices={SOURCE_CHOICES}
              onChange={(t) => setVm(i, { sourceType: t as SourceType })}
              error={errors[vmControl.sourceType(i)]}
            />
            <TextField
              id={vmControl.sourcePath(i)}
              label={cap(`${prefix}source path`)}
              value={vm.sourcePath}
              onChange={(sourcePath) => setVm(i, { sourcePath })}
              error={errors[vmControl.sourcePath(i)]}
              hint="Absolute path of the source disk on the daemon's machine, inside one of its source roots."
            />
            {vm.sourceType === "ami" && (
              <TextField
                id={vmControl.amiId(i)}
                label={`${prefix}AMI ID`}
                value={vm.amiId}
                onChange={(amiId) => setVm(i, { amiId })}
                error={errors[vmControl.amiId(i)]}
              />
            )}
            {draft.batch && draft.vms.length > 1 && (
              <div className="row">
                <button
                  type="button"
                  className="button danger"
                  onClick={() => {
                    focusAfterRemove.current = i;
                    update((d) => ({ ...d, vms: d.vms.filter((_, j) => j !== i) }));
                  }}
                >
                  Remove VM {i + 1}
                </button>
              </div>
            )}
          </fieldset>
        );
      })}
      {draft.batch && (
        <div className="row">
          <button
            type="button"
            className="button"
            onClick={() => update((d) => ({ ...d, vms: [...d.vms, newVm(d.nextKey)], nextKey: d.nextKey + 1 }))}
          >
            Add VM
          </button>
        </div>
      )}
    </div>
  );
}

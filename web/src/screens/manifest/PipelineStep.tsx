// Step 2: the stages (inspect, fix, convert, validate), each toggled, with
// their options nested under them.
import { BOOT_ACCELS, FSTAB_MODES, NETWORK_FIX_LEVELS, type BootAccel, type FstabMode, type NetworkFixLevel } from "./draft";
import { CheckboxField, SelectField, TextField } from "./controls";
import { CONTROL } from "./problemPaths";
import type { StepProps } from "./stepProps";

const FSTAB_CHOICES = FSTAB_MODES.map((m) => ({ value: m, label: m }));
const FIX_LEVEL_CHOICES = NETWORK_FIX_LEVELS.map((m) => ({ value: m, label: m }));
const ACCEL_CHOICES = BOOT_ACCELS.map((a) => ({ value: a, label: a === "" ? "Default (kvm:tcg)" : a }));

export function PipelineStep({ draft, update, errors }: StepProps) {
  const { inspect, fix, convert, validate } = draft;
  const setFix = (change: Partial<typeof fix>) => update((d) => ({ ...d, fix: { ...d.fix, ...change } }));
  const setValidate = (change: Partial<typeof validate>) => update((d) => ({ ...d, validate: { ...d.validate, ...change } }));

  return (
    <div className="stack">
      <CheckboxField
        id={CONTROL.inspectEnabled}
        label="Inspect"
        hint="Detect the OS and drivers."
        checked={inspect.enabled}
        onChange={(enabled) => update((d) => ({ ...d, inspect: { ...d.inspect, enabled } }))}
        error={errors[CONTROL.inspectEnabled]}
      >
        <CheckboxField
          id={CONTROL.inspectDetectOs}
          label="Detect OS"
          checked={inspect.detectOs}
          disabled={!inspect.enabled}
          onChange={(detectOs) => update((d) => ({ ...d, inspect: { ...d.inspect, detectOs } }))}
          error={errors[CONTROL.inspectDetectOs]}
        />
      </CheckboxField>

      <CheckboxField
        id={CONTROL.fixEnabled}
        label="Fix"
        hint="Guest fixes: fstab, grub, initramfs, network (needs libguestfs)."
        checked={fix.enabled}
        onChange={(enabled) => setFix({ enabled })}
        error={errors[CONTROL.fixEnabled]}
      >
        <CheckboxField
          id={CONTROL.fstabEnabled}
          label="Fix fstab"
          checked={fix.fstab.enabled}
          disabled={!fix.enabled}
          onChange={(enabled) => setFix({ fstab: { ...fix.fstab, enabled } })}
          error={errors[CONTROL.fstabEnabled]}
        />
        <SelectField
          id={CONTROL.fstabMode}
          label="fstab mode"
          value={fix.fstab.mode}
          choices={FSTAB_CHOICES}
          disabled={!fix.enabled || !fix.fstab.enabled}
          onChange={(mode) => setFix({ fstab: { ...fix.fstab, mode: mode as FstabMode } })}
          error={errors[CONTROL.fstabMode]}
          hint="stabilize-all: every entry to stable identifiers; bypath-only: only by-path entries; noop: none."
        />
        <CheckboxField
          id={CONTROL.grubEnabled}
          label="Fix grub"
          checked={fix.grub.enabled}
          disabled={!fix.enabled}
          onChange={(enabled) => setFix({ grub: { enabled } })}
          error={errors[CONTROL.grubEnabled]}
        />
        <CheckboxField
          id={CONTROL.initramfsEnabled}
          label="Fix initramfs"
          checked={fix.initramfs.enabled}
          disabled={!fix.enabled}
          onChange={(enabled) => setFix({ initramfs: { ...fix.initramfs, enabled } })}
          error={errors[CONTROL.initramfsEnabled]}
        />
        <CheckboxField
          id={CONTROL.initramfsRegenerate}
          label="Regenerate initramfs"
          hint="With the virtio drivers."
          checked={fix.initramfs.regenerate}
          disabled={!fix.enabled || !fix.initramfs.enabled}
          onChange={(regenerate) => setFix({ initramfs: { ...fix.initramfs, regenerate } })}
          error={errors[CONTROL.initramfsRegenerate]}
        />
        <CheckboxField
          id={CONTROL.networkEnabled}
          label="Fix network"
          checked={fix.network.enabled}
          disabled={!fix.enabled}
          onChange={(enabled) => setFix({ network: { ...fix.network, enabled } })}
          error={errors[CONTROL.networkEnabled]}
        />
        <SelectField
          id={CONTROL.networkFixLevel}
          label="Network fix level"
          value={fix.network.fixLevel}
          choices={FIX_LEVEL_CHOICES}
          disabled={!fix.enabled || !fix.network.enabled}
          onChange={(fixLevel) => setFix({ network: { ...fix.network, fixLevel: fixLevel as NetworkFixLevel } })}
          error={errors[CONTROL.networkFixLevel]}
        />
        <TextField
          id={CONTROL.fixTool}
          label="Fix tool (optional)"
          value={fix.tool}
          disabled={!fix.enabled}
          onChange={(tool) => setFix({ tool })}
          error={errors[CONTROL.fixTool]}
          hint="A guest-fix tool the operator configured (setting fix_tools); empty for the default."
        />
      </CheckboxField>

      <CheckboxField
        id={CONTROL.convertEnabled}
        label="Convert"
        hint="Convert to the target format (chosen in the Output step)."
        checked={convert.enabled}
        onChange={(enabled) => update((d) => ({ ...d, convert: { ...d.convert, enabled } }))}
        error={errors[CONTROL.convertEnabled]}
      />

      <CheckboxField
        id={CONTROL.validateEnabled}
        label="Validate"
        hint="Check the output image."
        checked={validate.enabled}
        onChange={(enabled) => setValidate({ enabled })}
        error={errors[CONTROL.validateEnabled]}
      >
        <CheckboxField
          id={CONTROL.bootTest}
          label="Boot test"
          hint="Boot the output headless for a short while (needs qemu-system-x86_64)."
          checked={validate.bootTest}
          disabled={!validate.enabled}
          onChange={(bootTest) => setValidate({ bootTest })}
          error={errors[CONTROL.bootTest]}
        />
        {validate.bootTest && (
          <>
            <TextField
              id={CONTROL.bootTestSeconds}
              label="Boot test seconds"
              inputType="number"
              min={1}
              max={3600}
              value={validate.bootTestSeconds}
              disabled={!validate.enabled}
              onChange={(bootTestSeconds) => setValidate({ bootTestSeconds })}
              error={errors[CONTROL.bootTestSeconds]}
              hint="How long the guest runs, 1 to 3600."
            />
            <SelectField
              id={CONTROL.bootAccel}
              label="Boot test accelerator"
              value={validate.bootAccel}
              choices={ACCEL_CHOICES}
              disabled={!validate.enabled}
              onChange={(bootAccel) => setValidate({ bootAccel: bootAccel as BootAccel })}
              error={errors[CONTROL.bootAccel]}
              hint="kvm:tcg uses KVM, else emulation; tcg where KVM is nested and slow."
            />
          </>
        )}
      </CheckboxField>
    </div>
  );
}

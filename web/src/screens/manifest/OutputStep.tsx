// Step 3: the output image's format, compression and place.
import { OUTPUT_FORMATS, type OutputFormat } from "./draft";
import { CheckboxField, SelectField, TextField } from "./controls";
import { CONTROL } from "./problemPaths";
import type { StepProps } from "./stepProps";

const FORMAT_CHOICES = OUTPUT_FORMATS.map((f) => ({ value: f, label: f }));

export function OutputStep({ draft, update, errors }: StepProps) {
  const { convert } = draft;
  const setConvert = (change: Partial<typeof convert>) => update((d) => ({ ...d, convert: { ...d.convert, ...change } }));
  return (
    <div className="stack">
      <SelectField
        id={CONTROL.outputFormat}
        label="Output format"
        value={convert.outputFormat}
        choices={FORMAT_CHOICES}
        onChange={(f) => setConvert({ outputFormat: f as OutputFormat })}
        error={errors[CONTROL.outputFormat]}
      />
      <CheckboxField
        id={CONTROL.compress}
        label="Compress"
        hint="Only qcow2 images are compressed."
        checked={convert.compress}
        onChange={(compress) => setConvert({ compress })}
        error={errors[CONTROL.compress]}
      />
      <TextField
        id={CONTROL.outputDirectory}
        label="Output directory (optional)"
        value={draft.outputDirectory}
        onChange={(outputDirectory) => update((d) => ({ ...d, outputDirectory }))}
        error={errors[CONTROL.outputDirectory]}
        hint={
          <>
            A folder inside the daemon's output directory (setting output_dir): each VM is written to{" "}
            <code>FOLDER/NAME.FORMAT</code>. Empty: the daemon's layout, <code>OUTPUT_DIR/YYYY-MM-DD/NAME/NAME.FORMAT</code>.
          </>
        }
      />
      <CheckboxField
        id={CONTROL.overwrite}
        label="Overwrite an existing output file"
        hint="Off: the run fails rather than replace a file that is already there."
        checked={convert.overwrite}
        onChange={(overwrite) => setConvert({ overwrite })}
        error={errors[CONTROL.overwrite]}
      />
    </div>
  );
}

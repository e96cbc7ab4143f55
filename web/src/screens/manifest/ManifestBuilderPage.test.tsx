import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes, useLocation, useParams } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import YAML from "yaml";
import { Code, ManifestFormat, WorkflowError, type ManifestOptions } from "@workflow-manager/workflowd-client";

import { ClientContext } from "../../components/clientContext";
import { fakeClient as dashboardClient } from "../../components/testFixtures";
import { ManifestBuilderPage, type ManifestClient } from "./ManifestBuilderPage";

afterEach(() => {
  cleanup();
  sessionStorage.clear();
});

type Problem = { path: string; message: string };
type Doc = { version?: unknown; batch?: boolean; name?: string; pipeline?: Pipeline; vms?: { name: string; pipeline: Pipeline }[] };
type Pipeline = { load: { source_path: string }; convert: { output_format: string } };

/** A stand-in for the daemon's validator: empty source paths, and a format the daemon forbids ("vdi" here). */
function problemsOf(doc: Doc): Problem[] {
  const problems: Problem[] = [];
  const check = (p: Pipeline | undefined, prefix: string) => {
    if (p?.load.source_path === "") problems.push({ path: `${prefix}pipeline.load.source_path`, message: "must not be empty" });
    if (p?.convert.output_format === "vdi") problems.push({ path: `${prefix}pipeline.convert.output_format`, message: "vdi is disabled here" });
  };
  if (doc.vms) doc.vms.forEach((vm, i) => check(vm.pipeline, `vms[${i}].`));
  else check(doc.pipeline, "");
  return problems;
}

function fakeClient() {
  const validated: { content: string; options: ManifestOptions | undefined }[] = [];
  const validateManifest = vi.fn((content: string | Uint8Array, options?: ManifestOptions) => {
    const text = String(content);
    validated.push({ content: text, options });
    let doc: Doc;
    try {
      doc = (text.trimStart().startsWith("{") ? JSON.parse(text) : YAML.parse(text)) as Doc;
    } catch {
      return Promise.resolve({ valid: false, problems: [{ path: "", message: "syntax error" }], vms: [] });
    }
    const problems = problemsOf(doc);
    const vms = problems.length > 0 ? [] : (doc.vms ?? [{ name: doc.name ?? "disk", pipeline: doc.pipeline }]).map((vm) => ({
      name: vm.name,
      pipelineJson: JSON.stringify({ name: vm.name, pipeline: { ...vm.pipeline, normalized: true } }),
    }));
    return Promise.resolve({ valid: problems.length === 0, problems, vms });
  });
  const submitManifest = vi.fn((content: string | Uint8Array, options?: ManifestOptions) => {
    void options;
    const doc = YAML.parse(String(content)) as Doc;
    return Promise.resolve(
      doc.batch
        ? { batchId: "batch-1", vms: [] }
        : { batchId: "", vms: [{ name: "disk", execution: { id: "exec-1" } }] },
    );
  });
  const client = { validateManifest, submitManifest } as unknown as ManifestClient;
  return { client, validated, validateManifest, submitManifest };
}

function Where() {
  const location = useLocation();
  return <output aria-label="Location">{location.pathname + location.search}</output>;
}

function Target({ kind }: { kind: string }) {
  const params = useParams();
  return <h1>{`${kind} ${Object.values(params).join("")}`}</h1>;
}

function renderBuilder(client: ManifestClient, url = "/manifests/new", debounceMs = 20) {
  return render(
    <MemoryRouter initialEntries={[url]}>
      <ClientContext.Provider value={dashboardClient(client)}>
        <Routes>
          <Route path="/manifests/new" element={<ManifestBuilderPage debounceMs={debounceMs} />} />
          <Route path="/executions/:id" element={<Target kind="Execution" />} />
          <Route path="/batches/:id" element={<Target kind="Batch" />} />
        </Routes>
      </ClientContext.Provider>
      <Where />
    </MemoryRouter>,
  );
}

const location = () => screen.getByRole("status", { name: "Location" }).textContent;
const stepLink = (name: string) => within(screen.getByRole("navigation", { name: "Manifest builder steps" })).getByRole("link", { name });

describe("ManifestBuilderPage steps", () => {
  it("walks Source → Pipeline → Output → Review with Next and back with Back, the step in the URL", async () => {
    const user = userEvent.setup();
    renderBuilder(fakeClient().client);
    expect(screen.getByRole("heading", { level: 1, name: "Manifest builder" })).toBeTruthy();
    expect(screen.getByRole("heading", { level: 2, name: "Source" })).toBeTruthy();
    expect(stepLink("Source").getAttribute("aria-current")).toBe("step");
    expect(screen.queryByRole("button", { name: "Back" })).toBeNull();

    for (const [name, step] of [
      ["Pipeline", "pipeline"],
      ["Output", "output"],
      ["Review", "review"],
    ] as const) {
      await user.click(screen.getByRole("button", { name: "Next" }));
      expect(screen.getByRole("heading", { level: 2, name })).toBeTruthy();
      expect(location()).toBe(`/manifests/new?step=${step}`);
      expect(stepLink(name).getAttribute("aria-current")).toBe("step");
      expect(document.activeElement).toBe(screen.getByRole("heading", { level: 2, name }));
    }
    expect(screen.queryByRole("button", { name: "Next" })).toBeNull();
    expect(stepLink("Source").getAttribute("aria-current")).toBeNull();

    await user.click(screen.getByRole("button", { name: "Back" }));
    expect(location()).toBe("/manifests/new?step=output");
    await user.click(stepLink("Source"));
    expect(screen.getByRole("heading", { level: 2, name: "Source" })).toBeTruthy();
  });

  it("opens the step the URL names, and the first step for an unknown one", () => {
    renderBuilder(fakeClient().client, "/manifests/new?step=output");
    expect(screen.getByRole("heading", { level: 2, name: "Output" })).toBeTruthy();
    cleanup();
    renderBuilder(fakeClient().client, "/manifests/new?step=nope");
    expect(screen.getByRole("heading", { level: 2, name: "Source" })).toBeTruthy();
  });

  it("keeps the draft across a reload of the page", async () => {
    const user = userEvent.setup();
    renderBuilder(fakeClient().client);
    await user.type(screen.getByRole("textbox", { name: "Source path" }), "/in/disk.vmdk");
    await user.click(screen.getByRole("radio", { name: "OVA" }));
    await user.click(screen.getByRole("button", { name: "Next" }));
    cleanup();
    renderBuilder(fakeClient().client, "/manifests/new?step=source");
    expect(screen.getByRole<HTMLInputElement>("textbox", { name: "Source path" }).value).toBe("/in/disk.vmdk");
    expect(screen.getByRole<HTMLInputElement>("radio", { name: "OVA" }).checked).toBe(true);
  });
});

describe("ManifestBuilderPage validation", () => {
  it("validates the manifest JSON after each pause in typing and shows problems at their fields", async () => {
    const user = userEvent.setup();
    const { client, validated } = fakeClient();
    // The page's real debounce: typing a path must not send its prefixes.
    renderBuilder(client, "/manifests/new", 300);
    const source = screen.getByRole("textbox", { name: "Source path" });
    await waitFor(() => expect(source.getAttribute("aria-invalid")).toBe("true"));
    expect(document.getElementById(source.getAttribute("aria-describedby")!.split(" ")[0]!)?.textContent).toBe("must not be empty");
    expect(stepLink("Source").getAttribute("aria-describedby")).toBe("step-source-problems");

    await user.type(source, "/in/disk.vmdk");
    await waitFor(() => expect(source.getAttribute("aria-invalid")).toBe("false"));
    expect(screen.getByText("The manifest is valid.")).toBeTruthy();
    // Debounced: nothing was sent for the half-typed paths.
    const paths = validated.map((v) => (JSON.parse(v.content) as Doc).pipeline?.load.source_path);
    expect(paths).toEqual(["", "/in/disk.vmdk"]);
    const last = validated.at(-1)!;
    expect(last.options).toMatchObject({ fileName: "disk.json", format: ManifestFormat.JSON });
    expect((JSON.parse(last.content) as Doc).pipeline).toMatchObject({
      load: { source_type: "vmdk", source_path: "/in/disk.vmdk" },
      convert: { output_format: "qcow2", compress: true },
    });
  });

  it("moves focus to the VM taking a removed VM's place", async () => {
    const user = userEvent.setup();
    const { client } = fakeClient();
    renderBuilder(client);
    await user.click(screen.getByRole("checkbox", { name: "Batch of several VMs" }));
    await user.click(screen.getByRole("button", { name: "Add VM" }));
    await user.click(screen.getByRole("button", { name: "Add VM" }));
    await user.type(screen.getByRole("textbox", { name: "VM 3 name" }), "db");
    await user.click(screen.getByRole("button", { name: "Remove VM 2" }));
    const second = screen.getByRole<HTMLInputElement>("textbox", { name: "VM 2 name" });
    expect(second.value).toBe("db");
    expect(document.activeElement).toBe(second);
    await user.click(screen.getByRole("button", { name: "Remove VM 2" }));
    expect(document.activeElement).toBe(screen.getByRole("textbox", { name: "VM 1 name" }));
  });

  it("shows a batch VM's problem at the shared control, naming the VM, and lets Next pass but not Submit", async () => {
    const user = userEvent.setup();
    const { client, submitManifest } = fakeClient();
    renderBuilder(client);
    await user.click(screen.getByRole("checkbox", { name: "Batch of several VMs" }));
    await user.type(screen.getByRole("textbox", { name: "VM 1 name" }), "web");
    await user.type(screen.getByRole("textbox", { name: "VM 1 source path" }), "/in/web.vmdk");
    await user.click(screen.getByRole("button", { name: "Add VM" }));
    await user.type(screen.getByRole("textbox", { name: "VM 2 name" }), "db");
    await user.type(screen.getByRole("textbox", { name: "VM 2 source path" }), "/in/db.vmdk");
    await user.click(screen.getByRole("button", { name: "Next" }));
    await user.click(screen.getByRole("button", { name: "Next" }));
    await user.selectOptions(screen.getByRole("combobox", { name: "Output format" }), "vdi");

    const format = screen.getByRole("combobox", { name: "Output format" });
    await waitFor(() => expect(format.getAttribute("aria-invalid")).toBe("true"));
    expect(document.getElementById("convert-output-format-error")?.textContent).toBe("web: vdi is disabled here; db: vdi is disabled here");
    expect(within(screen.getByRole("navigation", { name: "Manifest builder steps" })).getByText("2 problems")).toBeTruthy();

    await user.click(screen.getByRole("button", { name: "Next" }));
    expect(screen.getByRole("heading", { level: 2, name: "Review" })).toBeTruthy();
    const submit = screen.getByRole<HTMLButtonElement>("button", { name: "Submit" });
    expect(submit.disabled).toBe(true);
    // The Review list leads back to the control.
    await user.click(screen.getByRole("link", { name: "vms[1].pipeline.convert.output_format: vdi is disabled here" }));
    expect(screen.getByRole("heading", { level: 2, name: "Output" })).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByRole("combobox", { name: "Output format" }));
    expect(submitManifest).not.toHaveBeenCalled();
  });

  it("submits a batch and opens the batch page", async () => {
    const user = userEvent.setup();
    const { client, submitManifest } = fakeClient();
    renderBuilder(client);
    await user.click(screen.getByRole("checkbox", { name: "Batch of several VMs" }));
    await user.type(screen.getByRole("textbox", { name: "VM 1 name" }), "web");
    await user.type(screen.getByRole("textbox", { name: "VM 1 source path" }), "/in/web.vmdk");
    await user.click(stepLink("Review"));
    const submit = screen.getByRole<HTMLButtonElement>("button", { name: "Submit" });
    await waitFor(() => expect(submit.disabled).toBe(false));
    await user.click(submit);
    expect(await screen.findByRole("heading", { name: "Batch batch-1" })).toBeTruthy();
    const [content, options] = submitManifest.mock.calls[0] as unknown as [string, { fileName: string; format: ManifestFormat }];
    expect(JSON.parse(content)).toMatchObject({ version: "1.0", batch: true, vms: [{ name: "web" }] });
    expect(options.fileName).toMatch(/^batch-\d{8}-\d{6}\.json$/);
    expect(options.format).toBe(ManifestFormat.JSON);
    // Submitted: the next builder starts afresh.
    expect(sessionStorage.length).toBe(0);
  });

  it("shows JSON, YAML and the daemon's normalized pipelines in Review, then submits a single VM", async () => {
    const user = userEvent.setup();
    const { client, submitManifest } = fakeClient();
    renderBuilder(client);
    await user.type(screen.getByRole("textbox", { name: "Source path" }), "/in/disk.vmdk");
    await user.click(stepLink("Review"));
    await screen.findByText("disk");
    const jsonText = screen.getByRole("region", { name: "Manifest (JSON)" }).querySelector("pre")?.textContent ?? "";
    const manifest = JSON.parse(jsonText) as Doc;
    expect(manifest.pipeline?.load.source_path).toBe("/in/disk.vmdk");
    const yamlText = screen.getByRole("region", { name: "Manifest (YAML)" }).querySelector("pre")?.textContent ?? "";
    expect(YAML.parse(yamlText)).toEqual(manifest);
    expect(screen.getByRole("button", { name: "Copy JSON" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Download YAML" })).toBeTruthy();
    expect(screen.getByText(/"normalized": true/)).toBeTruthy();

    await user.click(screen.getByRole("button", { name: "Submit" }));
    expect(await screen.findByRole("heading", { name: "Execution exec-1" })).toBeTruthy();
    expect(submitManifest.mock.calls[0]?.[1]).toMatchObject({ fileName: "disk.json", format: ManifestFormat.JSON });
  });

  it("shows the daemon's refusal at submit time at the fields, and other errors in the banner", async () => {
    const user = userEvent.setup();
    const { client, submitManifest } = fakeClient();
    submitManifest
      .mockRejectedValueOnce(
        new WorkflowError(Code.InvalidArgument, "invalid manifest", [
          { field: "pipeline.load.source_path", description: "/in/disk.vmdk is outside every source root" },
        ]),
      )
      .mockRejectedValueOnce(new WorkflowError(Code.FailedPrecondition, "workflow vm_pipeline is not discovered"));
    renderBuilder(client);
    await user.type(screen.getByRole("textbox", { name: "Source path" }), "/in/disk.vmdk");
    await user.click(stepLink("Review"));
    const submit = screen.getByRole<HTMLButtonElement>("button", { name: "Submit" });
    await waitFor(() => expect(submit.disabled).toBe(false));
    await user.click(submit);
    expect(await screen.findByRole("link", { name: "pipeline.load.source_path: /in/disk.vmdk is outside every source root" })).toBeTruthy();
    expect(submit.disabled).toBe(true);

    await user.click(stepLink("Source"));
    await user.type(screen.getByRole("textbox", { name: "Source path" }), "x");
    await user.click(stepLink("Review"));
    const again = screen.getByRole<HTMLButtonElement>("button", { name: "Submit" });
    await waitFor(() => expect(again.disabled).toBe(false));
    await user.click(again);
    expect((await screen.findByRole("alert")).textContent).toBe("FAILED_PRECONDITION: workflow vm_pipeline is not discovered");
  });
});

describe("Upload manifest", () => {
  it("validates a chosen file as it is, lists its problems, and submits it only when valid", async () => {
    const user = userEvent.setup();
    const { client, validated, submitManifest } = fakeClient();
    renderBuilder(client);
    const upload = screen.getByRole("region", { name: "Upload manifest" });
    const input = within(upload).getByLabelText("Manifest file");
    const submitFile = within(upload).getByRole<HTMLButtonElement>("button", { name: "Submit file" });
    expect(submitFile.disabled).toBe(true);

    const bad = "version: '1.0'\nbatch: true\nvms:\n  - name: a\n    pipeline:\n      load: {source_path: ''}\n      convert: {output_format: qcow2}\n";
    await user.upload(input, new File([bad], "vms.yaml", { type: "application/yaml" }));
    const list = await within(upload).findByRole("list", { name: "Problems in vms.yaml" });
    expect(within(list).getByRole("listitem").textContent).toBe("vms[0].pipeline.load.source_path: must not be empty");
    // The builder validates its own draft on the same client: pick the upload's call.
    expect(validated.filter((v) => v.options?.fileName === "vms.yaml")).toEqual([{ content: bad, options: { fileName: "vms.yaml" } }]);
    expect(submitFile.disabled).toBe(true);

    const good = bad.replace("source_path: ''", "source_path: /in/a.vmdk");
    // Dropped on the zone instead of chosen.
    fireEvent.drop(input.parentElement!, { dataTransfer: { files: [new File([good], "vms.yml")] } });
    expect(await within(upload).findByText("vms.yml is valid.")).toBeTruthy();
    await waitFor(() => expect(submitFile.disabled).toBe(false));
    await user.click(submitFile);
    expect(await screen.findByRole("heading", { name: "Batch batch-1" })).toBeTruthy();
    expect(submitManifest.mock.calls[0]?.[0]).toBe(good);
    expect(submitManifest.mock.calls[0]?.[1]).toMatchObject({ fileName: "vms.yml" });
  });

  it("refuses a file that is not .json, .yaml or .yml without asking the daemon", async () => {
    const { client, validated } = fakeClient();
    renderBuilder(client);
    await waitFor(() => expect(validated.length).toBe(1));
    const input = screen.getByLabelText("Manifest file");
    fireEvent.change(input, { target: { files: [new File(["x"], "notes.txt")] } });
    expect((await screen.findByRole("alert")).textContent).toBe("notes.txt is not a manifest file: use .json, .yaml or .yml.");
    expect(validated.length).toBe(1);
  });
});

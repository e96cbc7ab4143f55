package hypersdkapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/hypersdkapi"
)

// TestSubmitTakesTheNamespaceParameter: `?namespace=` reaches the daemon.
// The test daemon has only `default`, so another name is 400
// BAD_PARAMETER naming it, and `default` starts the execution there.
func TestSubmitTakesTheNamespaceParameter(t *testing.T) {
	c := liveClient(t)
	sources, _ := ioDirs(t)
	srv := serve(t, c, hypersdkapi.Options{})
	name := unique("hs-ns")
	disk := makeDisk(t, sources, name+".raw", "raw")
	manifest := []byte(fmt.Sprintf(`{"version": "1.0", "name": %q, "pipeline": {"load": {"source_type": "raw", "source_path": %q}, "convert": {"output_format": "qcow2", "output_path": %q}}}`,
		name, disk, name+".qcow2"))

	code, _, body := call(t, http.MethodPost, srv.URL+hypersdkapi.PathSubmit+"?namespace=nope", manifest)
	if code != http.StatusBadRequest || body["code"] != "BAD_PARAMETER" || body["parameter"] != "namespace" {
		t.Fatalf("submit ?namespace=nope: %d %v; want 400 BAD_PARAMETER naming namespace", code, body)
	}

	code, _, body = call(t, http.MethodPost, srv.URL+hypersdkapi.PathSubmit+"?namespace=default", manifest)
	if code != http.StatusOK || body["success"] != true {
		t.Fatalf("submit ?namespace=default: %d %v", code, body)
	}
	ids := strings_(body["execution_ids"])
	if len(ids) != 1 {
		t.Fatalf("submit ?namespace=default: execution_ids %v, want one", ids)
	}
	got, err := c.API().GetExecution(context.Background(), &workflowv1.GetExecutionRequest{ExecutionId: ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	if ns := got.GetExecution().GetNamespace(); ns != "default" {
		t.Errorf("the execution's namespace = %q, want default", ns)
	}
	waitAll(t, c, ids)

	// The jobs list filters by it too: nothing in a namespace the
	// daemon does not have.
	code, _, body = call(t, http.MethodGet, srv.URL+hypersdkapi.PathJobs+"?namespace="+url.QueryEscape("nope"), nil)
	if code != http.StatusBadRequest && !(code == http.StatusOK && len(body["jobs"].([]any)) == 0) {
		t.Errorf("jobs ?namespace=nope: %d %v; want no jobs", code, body)
	}
}

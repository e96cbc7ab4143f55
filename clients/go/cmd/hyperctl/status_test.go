package main

import (
	"encoding/json"
	"testing"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/hypersdkapi"
)

// The CLI's -json status carries hyperctl's status keys flat, as
// hypersdkapi.StatusOf answers them, beside the daemon's own counters.
func TestStatusJSONMatchesHyperSDKStatus(t *testing.T) {
	manifest := &workflowv1.DropFolder{Path: "/m", Mode: workflowv1.DropFolderMode_DROP_FOLDER_MODE_MANIFEST}
	disk := &workflowv1.DropFolder{Path: "/d", Mode: workflowv1.DropFolderMode_DROP_FOLDER_MODE_DISK}
	for _, folders := range [][]*workflowv1.DropFolder{nil, {manifest}, {disk}, {disk, manifest}, {{Path: "/u"}}} {
		st := &workflowv1.GetStatusResponse{
			Queued: 3, Running: 5, SucceededToday: 7, FailedToday: 11, MaxWorkers: 13, UptimeSeconds: 17,
			DropFolders: folders, Version: "v", TotalExecutions: 19,
		}
		var want, got map[string]any
		decode(t, hypersdkapi.StatusOf(st), &want)
		decode(t, statusView(st), &got)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("drop folders %v: %s = %v, HyperSDK's status says %v", folders, k, got[k], v)
			}
		}
		if got["version"] != "v" || got["total_executions"] != 19.0 {
			t.Errorf("the daemon's own counters are missing: %v", got)
		}
	}
}

func decode(t *testing.T, v any, into *map[string]any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatal(err)
	}
}

package hypersdkapi_test

import (
	"log"
	"net/http"

	"github.com/workflow-manager/workflowd/clients/go/hypersdkapi"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// Mount the endpoints on HyperSDK's own mux, next to its other handlers,
// with the camelCase keys its dashboard reads.
func Example() {
	client, err := workflowclient.Dial("127.0.0.1:50051")
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	mux := http.NewServeMux()
	hypersdkapi.Register(mux, client, hypersdkapi.Options{KeyStyle: hypersdkapi.CamelCase})
	// mux.HandleFunc("/api/...", HyperSDK's other handlers)
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}

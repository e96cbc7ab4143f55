package hypersdkapi

import (
	"bytes"
	"encoding/json"
	"strings"
)

// marshal encodes v (whose JSON keys are snake_case) in the key style.
// CamelCase re-keys every object of the encoded value: safe because no
// answer holds an object whose keys are data (all keys are field names).
func marshal(v any, style KeyStyle) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || style != CamelCase {
		return b, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	return json.Marshal(camelKeys(tree))
}

// camelKeys returns v with every object key turned into camelCase.
func camelKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[CamelKey(k)] = camelKeys(val)
		}
		return out
	case []any:
		for i, val := range t {
			t[i] = camelKeys(val)
		}
		return t
	default:
		return v
	}
}

// CamelKey turns a snake_case key into camelCase: "queue_depth" ->
// "queueDepth", "execution_ids" -> "executionIds".
func CamelKey(k string) string {
	parts := strings.Split(k, "_")
	var b strings.Builder
	b.WriteString(parts[0])
	for _, p := range parts[1:] {
		if p == "" {
			continue
		}
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}

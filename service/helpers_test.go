package service_test

import "encoding/json"

func decodeJSON(data []byte, v any) error { return json.Unmarshal(data, v) }

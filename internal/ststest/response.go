package ststest

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"time"
)

type responseFormat int

const (
	formatXML responseFormat = iota
	// formatJSON is what STS sends for "Accept: application/json", which the
	// authenticator server asks for (it decodes GetCallerIdentityResponse
	// from JSON).
	formatJSON
)

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

type callerIdentity struct {
	Arn     string
	UserId  string //nolint:revive // STS field name
	Account string
}

func (*callerIdentity) action() string { return "GetCallerIdentity" }

type assumeRoleResult struct {
	AssumedRoleUser struct {
		Arn           string
		AssumedRoleId string //nolint:revive // STS field name
	}
	Credentials struct {
		AccessKeyId     string //nolint:revive // STS field name
		SecretAccessKey string
		SessionToken    string
		Expiration      time.Time
	}
	PackedPolicySize int
}

func (*assumeRoleResult) action() string { return "AssumeRole" }

type result interface{ action() string }

// writeResult answers <Action>Response/<Action>Result the way STS does, in
// XML or JSON.
func writeResult(w http.ResponseWriter, format responseFormat, reqID string, res result) {
	a := res.action()
	w.Header().Set("x-amzn-RequestId", reqID)
	if format == formatJSON {
		w.Header().Set("Content-Type", "application/json")
		var body any = res
		if ar, ok := res.(*assumeRoleResult); ok {
			// STS's JSON carries Expiration as epoch seconds.
			body = map[string]any{
				"AssumedRoleUser": ar.AssumedRoleUser,
				"Credentials": map[string]any{
					"AccessKeyId":     ar.Credentials.AccessKeyId,
					"SecretAccessKey": ar.Credentials.SecretAccessKey,
					"SessionToken":    ar.Credentials.SessionToken,
					"Expiration":      ar.Credentials.Expiration.Unix(),
				},
				"PackedPolicySize": ar.PackedPolicySize,
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			a + "Response": map[string]any{
				a + "Result":       body,
				"ResponseMetadata": map[string]string{"RequestId": reqID},
			},
		})
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	type metadata struct {
		RequestId string //nolint:revive // STS field name
	}
	type envelope struct {
		XMLName          xml.Name
		Xmlns            string `xml:"xmlns,attr"`
		Result           any
		ResponseMetadata metadata
	}
	resultName := xml.Name{Local: a + "Result"}
	body := struct {
		XMLName xml.Name
		Inner   any `xml:",innerxml"`
	}{XMLName: resultName}
	inner, _ := xml.Marshal(res)
	// Drop the outer element xml.Marshal names after the Go type.
	body.Inner = string(innerXML(inner))
	out, _ := xml.Marshal(envelope{XMLName: xml.Name{Local: a + "Response"}, Xmlns: stsNamespace, Result: body, ResponseMetadata: metadata{RequestId: reqID}})
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}

// innerXML strips the outermost element from a marshalled value.
func innerXML(b []byte) []byte {
	start := 0
	for i, c := range b {
		if c == '>' {
			start = i + 1
			break
		}
	}
	end := len(b)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '<' {
			end = i
			break
		}
	}
	return b[start:end]
}

// writeError answers STS's ErrorResponse (XML) or {"Error":…} (JSON).
func writeError(w http.ResponseWriter, format responseFormat, reqID string, e *stsError) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("x-amzn-RequestId", reqID)
	if format == formatJSON {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.status)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"Error":     map[string]string{"Type": typ, "Code": e.code, "Message": e.message},
			"RequestId": reqID,
		})
		return
	}
	type xmlErr struct {
		Type    string
		Code    string
		Message string
	}
	type envelope struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     xmlErr
		RequestId string //nolint:revive // STS field name
	}
	out, _ := xml.Marshal(envelope{Xmlns: stsNamespace, Error: xmlErr{Type: typ, Code: e.code, Message: e.message}, RequestId: reqID})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}

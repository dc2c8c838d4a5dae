package plan

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"unicode/utf16"
)

// A plan saved on Windows is often not plain UTF-8: PowerShell's `>` writes UTF-16 with a
// byte-order mark, and editors may add a UTF-8 one. The error says which and how to write it,
// instead of "invalid character 'ï'".
func TestAnalyzeRefusesOtherEncodings(t *testing.T) {
	plain, err := os.ReadFile("testdata/terraform-plan-delete-create.json")
	if err != nil {
		t.Fatal(err)
	}
	utf16le := func(bom []byte, order binary.ByteOrder) []byte {
		var b bytes.Buffer
		b.Write(bom)
		for _, u := range utf16.Encode([]rune(string(plain))) {
			_ = binary.Write(&b, order, u)
		}
		return b.Bytes()
	}
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"UTF-8 with a byte-order mark", append([]byte{0xEF, 0xBB, 0xBF}, plain...), "starts with a UTF-8 byte-order mark"},
		{"UTF-16LE (PowerShell)", utf16le([]byte{0xFF, 0xFE}, binary.LittleEndian), "is UTF-16"},
		{"UTF-16BE", utf16le([]byte{0xFE, 0xFF}, binary.BigEndian), "is UTF-16"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Analyze(bytes.NewReader(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "utf8NoBOM") {
				t.Errorf("error %v, want one saying %q and how to write the file", err, tt.want)
			}
		})
	}
	if _, err := Analyze(bytes.NewReader(plain)); err != nil {
		t.Errorf("the same plan as UTF-8: %v", err)
	}
}

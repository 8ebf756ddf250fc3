package migrate

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []Migration
		wantErr bool
	}{
		{
			name: "sorted by version",
			files: fstest.MapFS{
				"m/0002_b.sql": {Data: []byte("B")},
				"m/0010_c.sql": {Data: []byte("C")},
				"m/0001_a.sql": {Data: []byte("A")},
				"m/README":     {Data: []byte("not a migration")},
			},
			want: []Migration{
				{Version: 1, Name: "0001_a.sql", SQL: "A"},
				{Version: 2, Name: "0002_b.sql", SQL: "B"},
				{Version: 10, Name: "0010_c.sql", SQL: "C"},
			},
		},
		{name: "duplicate version", files: fstest.MapFS{"m/1_a.sql": {}, "m/0001_b.sql": {}}, wantErr: true},
		{name: "no number", files: fstest.MapFS{"m/init.sql": {}}, wantErr: true},
		{name: "zero", files: fstest.MapFS{"m/0000_a.sql": {}}, wantErr: true},
		{name: "no directory", files: fstest.MapFS{}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(tt.files, "m")
			if (err != nil) != tt.wantErr {
				t.Fatalf("Read: err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Read (-want +got):\n%s", diff)
			}
		})
	}
}

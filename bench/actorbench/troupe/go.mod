module actorbench/troupe

go 1.26.0

require github.com/troupe-go/troupe v0.0.0

replace github.com/troupe-go/troupe => ../../..

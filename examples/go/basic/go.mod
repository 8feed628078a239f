module resumate-example-basic

go 1.18

require resumate v0.0.0

replace resumate => ../../../bindings/go

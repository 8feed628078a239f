module resumate

go 1.18

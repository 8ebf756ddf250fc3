package natsbus_test

const helperEnv = "NATSBUS_TEST_HELPER"

func helperMain() int { return 0 }

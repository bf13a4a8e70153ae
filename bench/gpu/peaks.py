"""Measures the device's two ceilings: bf16 matmul FLOP/s and device-to-device copy bandwidth."""
import json

import torch


def timed(fn, reps=20):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(reps):
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    times.sort()
    return times[len(times) // 2]


n = 8192
a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
t_mm = timed(lambda: a @ b)
src = torch.randn(1 << 30, device="cuda", dtype=torch.float32)  # 4 GiB
dst = torch.empty_like(src)
t_cp = timed(lambda: dst.copy_(src), reps=10)
print(json.dumps({"device": torch.cuda.get_device_name(), "torch": torch.__version__,
                  "bf16_tflops": 2 * n ** 3 / t_mm / 1e12, "copy_tb_s": 2 * src.numel() * 4 / t_cp / 1e12}))

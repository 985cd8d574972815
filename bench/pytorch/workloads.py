"""The benchmark workloads of bench/ (W1-W5, W7) in PyTorch, timed the same way: per-step
medians over several measured repeats after a warm-up. Prints one JSON object:
{"version": ..., "workloads": {"W1": {"unit": "us/step", "median": ...}, ...}}.

Usage: python workloads.py [--quick] [--only W1,W2,...] [--threads N]
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def w1():
    torch.manual_seed(0)
    x, y = torch.randn(64, 1000), torch.randn(64, 10)
    w1 = torch.randn(1000, 100, requires_grad=True)
    w2 = torch.randn(100, 10, requires_grad=True)

    def step():
        loss = x.mm(w1).clamp(min=0).mm(w2).sub(y).pow(2).sum()
        value = loss.item()
        loss.backward()
        with torch.no_grad():
            w1.sub_(w1.grad * 1e-6)
            w2.sub_(w2.grad * 1e-6)
            w1.grad.zero_()
            w2.grad.zero_()
        return value

    return step


def linear_param(fan_in, *shape):
    bound = 1 / fan_in ** 0.5
    return torch.empty(*shape).uniform_(-bound, bound).requires_grad_(True)


def w2():
    torch.manual_seed(0)
    x, target = torch.rand(128, 784), torch.randint(0, 10, (128,))
    params = []
    for fan_in, fan_out in [(784, 512), (512, 512), (512, 10)]:
        params += [linear_param(fan_in, fan_out, fan_in), linear_param(fan_in, fan_out)]
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)

    def step():
        h = F.linear(x, params[0], params[1]).relu()
        h = F.linear(h, params[2], params[3]).relu()
        loss = F.cross_entropy(F.linear(h, params[4], params[5]), target)
        value = loss.item()
        loss.backward()
        opt.step()
        opt.zero_grad()
        return value

    return step


W3_OPS = 1000


def w3():
    torch.manual_seed(0)
    a, b = torch.randn(1, requires_grad=True), torch.randn(1, requires_grad=True)

    def step():
        h = a
        for _ in range(W3_OPS // 3):
            h = torch.tanh((h + b) * b)
        h = h + b
        value = h.item()
        h.backward()
        a.grad = None
        b.grad = None
        return value

    return step


def w7():
    torch.manual_seed(0)
    x, target = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    params = [linear_param(9, 32, 1, 3, 3), linear_param(9, 32),
              linear_param(32 * 9, 64, 32, 3, 3), linear_param(32 * 9, 64),
              linear_param(64 * 5 * 5, 10, 64 * 5 * 5), linear_param(64 * 5 * 5, 10)]
    opt = torch.optim.SGD(params, lr=0.01)

    def step():
        h = F.max_pool2d(F.conv2d(x, params[0], params[1]).relu(), 2, 2)
        h = F.max_pool2d(F.conv2d(h, params[2], params[3]).relu(), 2, 2)
        loss = F.cross_entropy(F.linear(h.flatten(1), params[4], params[5]), target)
        value = loss.item()
        loss.backward()
        opt.step()
        opt.zero_grad()
        return value

    return step


def w4():
    n = 16 * 1024 * 1024
    torch.manual_seed(0)
    a, b, out = torch.rand(n), torch.rand(n), torch.empty(n)

    def step():
        torch.add(a, b, out=out)
        return out[0].item()

    return step


def w5():
    torch.manual_seed(0)
    a, b = torch.rand(1024, 1024), torch.rand(1024, 1024)

    def step():
        return torch.mm(a, b)[0, 0].item()

    return step


# name: (factory, unit, how a per-step time in seconds becomes the unit)
WORKLOADS = {
    "W1": (w1, "us/step", lambda s: s * 1e6),
    "W2": (w2, "us/step", lambda s: s * 1e6),
    "W3": (w3, "us/op", lambda s: s * 1e6 / W3_OPS),
    "W4": (w4, "GB/s", lambda s: 16 * 1024 * 1024 * 12 / s / 1e9),
    "W5": (w5, "GFLOP/s", lambda s: 2 * 1024 ** 3 / s / 1e9),
    "W7": (w7, "us/step", lambda s: s * 1e6),
}


def measure(step, seconds, repeats):
    for _ in range(3):
        step()
    # Calibrate a batch of steps lasting about `seconds`.
    start = time.perf_counter()
    step()
    once = max(time.perf_counter() - start, 1e-6)
    batch = max(1, int(seconds / once))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(batch):
            step()
        times.append((time.perf_counter() - start) / batch)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default=",".join(WORKLOADS))
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    seconds, repeats = (0.5, 3) if args.quick else (2.0, 5)
    out = {"version": torch.__version__, "threads": torch.get_num_threads(), "workloads": {}}
    for name in args.only.split(","):
        factory, unit, convert = WORKLOADS[name]
        median = measure(factory(), seconds, repeats)
        out["workloads"][name] = {"unit": unit, "median": convert(median)}
        print(f"{name}: {convert(median):.3f} {unit}", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

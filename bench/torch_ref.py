"""Native reference for `npm run bench`: MobileNet v1 (width alpha) up to conv_pw_13_relu in PyTorch,
random weights (timing only), BN folded (conv + bias + relu6, like the lean graph), weights frozen:
one step = forward + gradient w.r.t. the input. Prints one JSON line."""
import json, sys, time
import torch
import torch.nn as nn

alpha = float(sys.argv[1]); size = int(sys.argv[2]); batch = int(sys.argv[3]); threads = int(sys.argv[4]); steps = int(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(0)

def block(cin, cout, stride):
    return [nn.Conv2d(cin, cin, 3, stride, 1, groups=cin), nn.ReLU6(), nn.Conv2d(cin, cout, 1), nn.ReLU6()]

c = lambda n: int(n * alpha)
layers = [nn.Conv2d(3, c(32), 3, 2, 1), nn.ReLU6()]
spec = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2)] + [(512, 512, 1)] * 5 + [(512, 1024, 2), (1024, 1024, 1)]
for cin, cout, s in spec:
    layers += block(c(cin), c(cout), s)
net = nn.Sequential(*layers).eval()
for p in net.parameters():
    p.requires_grad_(False)

x = (torch.rand(batch, 3, size, size) * 0.2 - 0.1).requires_grad_(True)
def step():
    x.grad = None
    y = net(x)
    y[:, 0].mean().backward()
    return x.grad
for _ in range(3):
    step()
times = []
for _ in range(steps):
    t = time.perf_counter(); step(); times.append((time.perf_counter() - t) * 1000)
times.sort()
print(json.dumps({"msPerStep": times[len(times) // 2], "torch": torch.__version__, "threads": torch.get_num_threads()}))

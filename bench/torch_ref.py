"""Native reference for `npm run bench`, random weights (timing only), weights frozen: one step =
forward + gradient w.r.t. the input. Prints one JSON line.
- a float (0.75, 0.25): MobileNet v1 of that width up to conv_pw_13_relu, BN folded (conv + bias +
  relu6, like the lean graph);
- resnet50v2: keras.applications ResNet50V2 up to conv3_block4_out (pre-activation BN kept, the BN
  after a conv folded into it, as the lean graph does);
- vgg16: VGG16 up to block5_conv3.
Usage: torch_ref.py NET SIZE BATCH THREADS STEPS [DEVICE]   (DEVICE: cpu, the default, or cuda; on cuda each
step is timed to the end of its kernels)"""
import json, sys, time
import torch
import torch.nn as nn

net_name = sys.argv[1]; size = int(sys.argv[2]); batch = int(sys.argv[3]); threads = int(sys.argv[4]); steps = int(sys.argv[5])
device = sys.argv[6] if len(sys.argv) > 6 else "cpu"
torch.set_num_threads(threads)
torch.manual_seed(0)

def block(cin, cout, stride):
    return [nn.Conv2d(cin, cin, 3, stride, 1, groups=cin), nn.ReLU6(), nn.Conv2d(cin, cout, 1), nn.ReLU6()]

def mobilenet(alpha):
    c = lambda n: int(n * alpha)
    layers = [nn.Conv2d(3, c(32), 3, 2, 1), nn.ReLU6()]
    spec = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2)] + [(512, 512, 1)] * 5 + [(512, 1024, 2), (1024, 1024, 1)]
    for cin, cout, s in spec:
        layers += block(c(cin), c(cout), s)
    return nn.Sequential(*layers)

class Block2(nn.Module):
    """resnet_v2 block2: BN-ReLU pre-activation, 1x1 / 3x3 (stride) / 1x1 bottleneck, shortcut added."""
    def __init__(self, cin, filters, stride, conv_shortcut):
        super().__init__()
        self.preact = nn.Sequential(nn.BatchNorm2d(cin, eps=1.001e-5), nn.ReLU())
        self.shortcut = nn.Conv2d(cin, 4 * filters, 1, stride) if conv_shortcut else None
        self.pool = nn.MaxPool2d(1, stride) if stride > 1 and not conv_shortcut else None
        self.body = nn.Sequential(nn.Conv2d(cin, filters, 1), nn.ReLU(), nn.Conv2d(filters, filters, 3, stride, 1), nn.ReLU(), nn.Conv2d(filters, 4 * filters, 1))
    def forward(self, x):
        p = self.preact(x)
        short = self.shortcut(p) if self.shortcut is not None else (self.pool(x) if self.pool is not None else x)
        return short + self.body(p)

def resnet50v2_conv3():
    layers = [nn.Conv2d(3, 64, 7, 2, 3), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for filters, blocks in [(64, 3), (128, 4)]:
        for i in range(blocks):
            layers.append(Block2(cin, filters, 2 if i == blocks - 1 else 1, i == 0))
            cin = 4 * filters
    return nn.Sequential(*layers)

def vgg16_block5_conv3():
    layers, cin = [], 3
    for b, (filters, convs) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]):
        for _ in range(convs):
            layers += [nn.Conv2d(cin, filters, 3, 1, 1), nn.ReLU()]
            cin = filters
        if b < 4:
            layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)

net = {"resnet50v2": resnet50v2_conv3, "vgg16": vgg16_block5_conv3}.get(net_name, lambda: mobilenet(float(net_name)))().eval().to(device)
for p in net.parameters():
    p.requires_grad_(False)

x = (torch.rand(batch, 3, size, size, device=device) * 0.2 - 0.1).requires_grad_(True)
sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
def step():
    x.grad = None
    y = net(x)
    y[:, 0].mean().backward()
    return x.grad
for _ in range(3):
    step()
sync()
times = []
for _ in range(steps):
    t = time.perf_counter(); step(); sync(); times.append((time.perf_counter() - t) * 1000)
times.sort()
print(json.dumps({"msPerStep": times[len(times) // 2], "torch": torch.__version__, "threads": torch.get_num_threads(), "device": torch.cuda.get_device_name() if device == "cuda" else "cpu"}))

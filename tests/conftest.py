import torch

# Tiny nets on shared cores run far slower with torch's default thread count.
torch.set_num_threads(1)

"""The quickstart's training loop: fit a linear model with lossopt's loss and optimizer.

Run as a test by docs/tests/test_examples.py (and by hand: ``python docs/examples/training_loop.py``).
"""

import torch

from lossopt import create_loss_function, create_optimizer

torch.manual_seed(0)
inputs = torch.randn(256, 8)
true_weight = torch.randn(8, 1)
targets = inputs @ true_weight + 0.1 * torch.randn(256, 1)

model = torch.nn.Linear(8, 1)
loss_fn = create_loss_function("mse")
optimizer = create_optimizer("sgd", model.parameters(), lr=0.05, momentum=0.9, nesterov=True)

losses = []
for _epoch in range(20):
    for start in range(0, len(inputs), 32):
        batch_x, batch_y = inputs[start : start + 32], targets[start : start + 32]
        optimizer.zero_grad()
        loss = loss_fn(model(batch_x), batch_y)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        losses.append(loss_fn(model(inputs), targets).item())

print(f"mse after epoch 1: {losses[0]:.4f}, after epoch {len(losses)}: {losses[-1]:.4f}")
assert losses[-1] < 0.05 * losses[0], losses

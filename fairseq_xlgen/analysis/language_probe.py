"""Held-out language probe: can a fresh linear classifier still read the language from a
representation? (LAFT's TM+adv baseline, paper 001 appendix: its own classifier's accuracy
says only whether *that* classifier is fooled.)

A multinomial logistic regression, fitted from scratch in fp32 with L-BFGS on one split of
the vectors (features standardised with that split's mean and deviation, a small L2 penalty)
and scored on the other split.
"""
import torch
import torch.nn.functional as F

PROBE_STEPS = 300
PROBE_L2 = 1e-3


def probe_accuracy(train_x, train_y, test_x, test_y, steps=PROBE_STEPS, l2=PROBE_L2):
    """(accuracy on the test split, the test split's majority-class share = chance) of a logistic
    regression ``train_x`` (N×d) → ``train_y`` (N class ids), deterministic for the same inputs."""
    train_x, test_x = train_x.detach().float().cpu(), test_x.detach().float().cpu()
    train_y, test_y = train_y.long().cpu(), test_y.long().cpu()
    classes = int(max(train_y.max(), test_y.max())) + 1
    mean, std = train_x.mean(0), train_x.std(0, unbiased=False).clamp_min(1e-6)
    x = (train_x - mean) / std
    weight = torch.zeros(x.shape[1], classes, requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ weight + bias, train_y) + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    with torch.no_grad():
        predicted = (((test_x - mean) / std) @ weight + bias).argmax(-1)
    accuracy = predicted.eq(test_y).float().mean().item()
    chance = torch.bincount(test_y, minlength=classes).max().item() / len(test_y)
    return accuracy, chance

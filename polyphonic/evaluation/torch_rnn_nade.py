"""The RNN-NADE written independently in PyTorch, for the benchmark to time beside ours.

The same model as models/nade.RnnNade (Boulanger-Lewandowski et al. 2012,
section 4): u_t = tanh(bu + v_t Wvu + u_{t-1} Wuu) from a learned u0, each
frame's NADE biases bv + u_{t-1} Wuv and bh + u_{t-1} Wuh, and the NADE's
hidden units from running sums over the notes before each note (cumsum, the
way one writes it with tensors). One step is Adam on the mean negative
log-likelihood per frame of a chunk, the gradient norm clipped, as
`--config rnn-nade` trains. PyTorch is imported when a model is built; the
project does not depend on it.
"""

NAMES = ("W", "V", "bv", "bh", "Wuh", "Wuv", "Wvu", "Wuu", "bu", "u0")


class TorchRnnNade:
    """step(chunk) -> the chunk's mean log-likelihood per frame before one
    Adam step; log_likelihoods(chunk) -> per frame, without a step."""

    def __init__(self, values, lr=0.001, clip_norm=5.0, dtype="float64"):
        """values : the parameters by name (NumPy arrays, e.g. RnnNade.values()),
        copied, so that both implementations start from the same point."""
        import torch

        self.torch, self.dtype = torch, getattr(torch, dtype)
        self.params = {name: torch.tensor(values[name], dtype=self.dtype, requires_grad=True)
                       for name in NAMES}
        self.optimizer = torch.optim.Adam(self.params.values(), lr=lr)
        self.clip_norm = clip_norm

    def _log_likelihoods(self, v):
        torch, p = self.torch, self.params
        inputs, u, states = p["bu"] + v @ p["Wvu"], p["u0"], []
        for t in range(len(v)):
            states.append(u)  # the state before frame t sets its biases
            u = torch.tanh(inputs[t] + u @ p["Wuu"])
        before = torch.stack(states)
        bv, bh = p["bv"] + before @ p["Wuv"], p["bh"] + before @ p["Wuh"]
        running = torch.cumsum(v[:, :, None] * p["W"][None], dim=1) - v[:, :, None] * p["W"][None]
        hidden = torch.sigmoid(bh[:, None, :] + running)
        logits = bv + (hidden * p["V"][None]).sum(dim=2)
        return (v * logits - torch.nn.functional.softplus(logits)).sum(dim=1)

    def log_likelihoods(self, chunk):
        with self.torch.no_grad():
            return self._log_likelihoods(self.torch.as_tensor(chunk, dtype=self.dtype)).numpy()

    def step(self, chunk):
        self.optimizer.zero_grad()
        mean = self._log_likelihoods(self.torch.as_tensor(chunk, dtype=self.dtype)).mean()
        (-mean).backward()
        self.torch.nn.utils.clip_grad_norm_(self.params.values(), self.clip_norm)
        self.optimizer.step()
        return float(mean.detach())

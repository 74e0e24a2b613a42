"""Save and load round trips: checkpoints, EMA, estimators."""
import torch, pytest
from torch import nn
from otnb.nets import TimeMLP
from otnb.train import EMA, Estimator, save_checkpoint, load_checkpoint, train

class Field(Estimator):
    def __init__(self, dim=2, width=16):
        super().__init__(dim=dim, width=width)
        self.net = TimeMLP(dim, width=width)
    def fit(self, data, n_steps=10):
        train(lambda b: self.net(0.5, b).pow(2).mean(), self, n_steps, samplers=[data], batch_size=8,
              progress=False, history=self.log('loss'), generator=0)
        return self

def test_estimator_round_trip(tmp_path):
    est = Field().fit(torch.randn(32, 2))
    est.save(tmp_path / 'f.pt')
    again = Field.from_checkpoint(tmp_path / 'f.pt')
    x = torch.randn(5, 2)
    with torch.no_grad(): assert torch.equal(again.net(0.3, x), est.net(0.3, x))
    assert again.history == est.history and again.config == {'dim': 2, 'width': 16}
    other = Field().load(tmp_path / 'f.pt')
    assert other.history['loss'] == est.history['loss']

def test_wrong_class(tmp_path):
    class Other(Estimator):
        def __init__(self): super().__init__(); self.lin = nn.Linear(1, 1)
    Other().save(tmp_path / 'o.pt')
    with pytest.raises(ValueError, match='checkpoint holds a Other, not a Field'): Field.from_checkpoint(tmp_path / 'o.pt')

def test_checkpoint_with_optimizer_and_ema(tmp_path):
    net = nn.Linear(3, 2); opt = torch.optim.Adam(net.parameters()); ema = EMA(net, 0.9)
    train(lambda: net.weight.pow(2).sum(), net, 5, optimizer=opt, ema=ema, progress=False)
    save_checkpoint(tmp_path / 'c.pt', net=net, opt=opt, ema=ema, step=5)
    net2 = nn.Linear(3, 2); opt2 = torch.optim.Adam(net2.parameters()); ema2 = EMA(net2, 0.5)
    st = load_checkpoint(tmp_path / 'c.pt', net=net2, opt=opt2, ema=ema2)
    assert st['step'] == 5 and ema2.decay == 0.9
    assert torch.equal(net2.weight, net.weight) and torch.equal(ema2.shadow['weight'], ema.shadow['weight'])
    assert opt2.state_dict()['state'][0]['step'] == opt.state_dict()['state'][0]['step']
    with pytest.raises(KeyError, match="no entry 'model'"): load_checkpoint(tmp_path / 'c.pt', model=net2)

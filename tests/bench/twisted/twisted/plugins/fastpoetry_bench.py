# The seed's Twisted fastpoetry server as a twistd plugin (Dave Peticolas' twisted-intro, twisted-server-3),
# so tests/bench/run can compare twistd with cppd on the same protocol:
#   PYTHONPATH=tests/bench/twisted twistd3 -n --pidfile= fastpoetry --port 10000 --poem poetry/ecstasy.txt
from zope.interface import implementer

from twisted.application import internet, service
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.plugin import IPlugin
from twisted.python import log, usage


class PoetryProtocol(Protocol):
    def connectionMade(self):
        poem = self.factory.service.poem
        log.msg('sending %d bytes of poetry to %s' % (len(poem), self.transport.getPeer()))
        self.transport.write(poem)
        self.transport.loseConnection()


class PoetryFactory(ServerFactory):
    protocol = PoetryProtocol

    def __init__(self, service):
        self.service = service


class PoetryService(service.Service):
    def __init__(self, poetry_file):
        self.poetry_file = poetry_file

    def startService(self):
        service.Service.startService(self)
        with open(self.poetry_file, 'rb') as f:
            self.poem = f.read()
        log.msg('loaded a poem from: %s' % (self.poetry_file,))


class Options(usage.Options):
    optParameters = [
        ['port', 'p', 10000, 'The port number to listen on.'],
        ['poem', None, None, 'The file containing the poem.'],
        ['iface', None, 'localhost', 'The interface to listen on.'],
        ['backlog', None, 50, 'The listen backlog (twistd default 50).'],
    ]


@implementer(service.IServiceMaker, IPlugin)
class PoetryServiceMaker(object):
    tapname = "fastpoetry"
    description = "A fast poetry service."
    options = Options

    def makeService(self, options):
        top_service = service.MultiService()
        poetry_service = PoetryService(options['poem'])
        poetry_service.setServiceParent(top_service)
        factory = PoetryFactory(poetry_service)
        tcp_service = internet.TCPServer(int(options['port']), factory, interface=options['iface'],
                                         backlog=int(options['backlog']))
        tcp_service.setServiceParent(top_service)
        return top_service


service_maker = PoetryServiceMaker()

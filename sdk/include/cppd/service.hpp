#pragma once

#include <memory>
#include <string>

#include <cppd/completion.hpp>
#include <cppd/export.hpp>

namespace cppd {

class IServiceCollection;

namespace detail {
struct ServiceAccess;
}

/// A service: something that starts and stops with the process (Twisted's IService).
///
/// Services are owned through std::shared_ptr; a collection owns its children, a child keeps a plain
/// pointer to its parent. Thread affinity: loop thread (or the runner's main thread before the loop runs).
class CPPD_API IService : public std::enable_shared_from_this<IService> {
 public:
  virtual ~IService();

  /// The service's name; empty for an anonymous service.
  virtual const std::string& name() const = 0;

  /// True between startService() and stopService().
  virtual bool running() const = 0;

  /// The collection this service belongs to, or nullptr.
  virtual IServiceCollection* parent() const = 0;

  /// Renames the service. Throws std::logic_error("cannot change name when parent exists") once parented.
  virtual void setName(std::string name) = 0;

  /// Makes this service a child of parent, leaving any previous parent first. The service must be owned by a
  /// std::shared_ptr. Throws std::logic_error if parent refuses it (duplicate name); the service is then
  /// left without a parent.
  virtual void setServiceParent(IServiceCollection& parent) = 0;

  /// Leaves the parent. Returns the stop of this service if the parent was running, else an already-fired
  /// completion. Throws std::logic_error if the service has no parent.
  virtual Completion disownServiceParent() = 0;

  /// Work that needs the process's initial privileges or must happen before chdir/chroot: binding ports.
  /// Runs before the runner drops privileges. Throws cppd::Error on failure.
  virtual void privilegedStartService() = 0;

  /// Starts the service; sets running(). Throws cppd::Error on failure.
  virtual void startService() = 0;

  /// Stops the service; clears running(). The returned completion fires when the stop has finished (for
  /// example when connections in flight have drained). Must not throw.
  virtual Completion stopService() = 0;

 private:
  friend struct detail::ServiceAccess;
  /// Records the parent link; called by collections (through detail::ServiceAccess) when they adopt or let go
  /// of a child, never by anyone else. Service implements it; a direct implementation of IService overrides it.
  virtual void setParentLink(IServiceCollection* parent) = 0;
};

/// The usual base class for services: keeps name, running flag and parent, and does nothing on start/stop.
/// Derived classes override privilegedStartService/startService/stopService and call the base versions.
class CPPD_API Service : public IService {
 public:
  Service();
  explicit Service(std::string name);
  ~Service() override;

  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  const std::string& name() const override;
  bool running() const override;
  IServiceCollection* parent() const override;
  void setName(std::string name) override;
  void setServiceParent(IServiceCollection& parent) override;
  Completion disownServiceParent() override;
  void privilegedStartService() override;
  void startService() override;
  Completion stopService() override;

 private:
  void setParentLink(IServiceCollection* parent) override;

  std::string name_;
  bool running_ = false;
  IServiceCollection* parent_ = nullptr;
};

}  // namespace cppd

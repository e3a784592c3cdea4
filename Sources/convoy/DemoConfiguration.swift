/// The configuration `convoy run` uses without `-c`: the canary from Istio's documentation. Two
/// versions of a `catalog` service (the demo starts them on 127.0.0.1:18081 and :18082), 70 % of
/// requests to v1 and 30 % to v2, and testers sending `x-canary: always` pinned to v2.
enum DemoConfiguration {
    static let yaml = """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: demo-gateway
        spec:
          servers:
          - port: {number: 18080, name: http, protocol: HTTP}
            bind: 127.0.0.1
            hosts: ["*"]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: catalog
        spec:
          hosts: [catalog.shop.svc.cluster.local]
          ports:
          - {number: 80, name: http, protocol: HTTP}
          resolution: STATIC
          endpoints:
          - address: 127.0.0.1
            ports: {http: 18081}
            labels: {version: v1}
          - address: 127.0.0.1
            ports: {http: 18082}
            labels: {version: v2}
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: catalog
        spec:
          host: catalog.shop.svc.cluster.local
          trafficPolicy:
            loadBalancer: {simple: LEAST_REQUEST}
            connectionPool:
              tcp: {connectTimeout: 2s}
              http: {idleTimeout: 4s}
          subsets:
          - name: v1
            labels: {version: v1}
          - name: v2
            labels: {version: v2}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: catalog
        spec:
          hosts: ["*"]
          gateways: [demo-gateway]
          http:
          - name: testers-to-v2
            match:
            - headers:
                x-canary: {exact: always}
            route:
            - destination: {host: catalog.shop.svc.cluster.local, subset: v2}
          - name: weighted-canary
            timeout: 4s
            route:
            - destination: {host: catalog.shop.svc.cluster.local, subset: v1}
              weight: 70
            - destination: {host: catalog.shop.svc.cluster.local, subset: v2}
              weight: 30
              headers:
                response:
                  set: {x-served-by: catalog-v2}
        """
}
